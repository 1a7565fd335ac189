/**
 * Diagnostics of the stiffness phenomenon (arXiv 2308.09939): record a network's feature
 * trajectory {x_t}, compute the Neural Stiffness Index (NSI) per sample and block, summarise it per
 * block (the paper's stiffness figure plots the mean and the min / max envelope per block for SE
 * and the plain network), correlate it with the attention values, and rank blocks by NSI spread.
 *
 * NSI formula: the paper's definition was not available to us (see the README). The default kind is
 * the relative step, consistent with the figure's value range and with the same group's
 * stiffness-aware index (Liang et al., ICLR 2022):
 *
 *   'relative-step' (default):  NSI_t = ‖x_{t+1} − x_t‖₂ / (‖x_t‖₂ + eps)
 *   'lipschitz':                NSI_t = ‖f_{t+1} − f_t‖₂ / (‖x_{t+1} − x_t‖₂ + eps)
 *
 * per sample, with x flattened over C·H·W, eps = 1e-8 (`STIFFNESS_EPS`) so an all-zero state gives
 * a finite value (0 when the step is 0 as well). Only blocks whose input and output shapes agree are
 * measured; a block that changes shape is reported as skipped with the reason, never dropped.
 */
import { nn, noGrad, OpError, scope, sub, type Tensor } from '@methodzoo/core';
import { ResidualStep, sampleNorm, STIFFNESS_EPS, type StepRecord } from './blocks.js';
import type { LinePlot } from '@methodzoo/core';

export type NsiKind = 'relative-step' | 'lipschitz';

export interface NsiOptions {
  kind?: NsiKind;
  /** Added to the denominator (1e-8). */
  eps?: number;
}

const sameShape = (a: Tensor, b: Tensor) => a.ndim === b.ndim && a.shape.every((d, i) => d === b.shape[i]);
const fmt = (t: Tensor) => `[${t.shape.join(', ')}]`;

/**
 * Relative step ‖next − prev‖ / (‖prev‖ + eps) per sample, [N]; differentiable. `prev` and `next`
 * must have the same shape [N, ...].
 */
export function stiffnessIndex(prev: Tensor, next: Tensor, eps = STIFFNESS_EPS): Tensor {
  if (!sameShape(prev, next)) throw new OpError('stiffnessIndex', `prev and next must have the same shape, got ${fmt(prev)} and ${fmt(next)}`);
  if (!(eps >= 0)) throw new OpError('stiffnessIndex', `eps must be non-negative, got ${eps}`);
  return sampleNorm(sub(next, prev)).div(sampleNorm(prev).add(eps));
}

/** One block's tensors from a recorded forward pass. */
export interface TrajectoryStep extends StepRecord {
  /** Module path, e.g. `layer2.3`. */
  name: string;
  /** Position in forward order (0-based). */
  index: number;
  /** 1-based stage parsed from `layerK.` (0 when the name has none). */
  stage: number;
  /** Position inside the stage (0-based; the forward position when there is no stage). */
  indexInStage: number;
}

export interface Trajectory {
  steps: TrajectoryStep[];
  /** The model's output for the batch. */
  output: Tensor;
  /** Frees every tensor of the trajectory (the batch itself is the caller's). */
  dispose(): void;
}

export interface RecordOptions {
  /** Put the model in eval mode for the pass and restore its mode after (true). */
  eval?: boolean;
}

/**
 * Runs `model` on `batch` without gradients and records, for every ResidualStep in forward order,
 * its input x_t, shortcut, residual f(x_t), attention a_t (null for plain blocks) and output x_{t+1}.
 */
export function recordTrajectory(model: nn.Module, batch: Tensor, opts: RecordOptions = {}): Trajectory {
  const named = model.namedModules().filter((e): e is [string, ResidualStep] => e[1] instanceof ResidualStep);
  if (named.length === 0) throw new OpError('recordTrajectory', `${model.constructor.name} contains no ResidualStep blocks`);
  const names = new Map<ResidualStep, string>(named.map(([n, m]) => [m, n]));
  const wasTraining = model.training;
  if (opts.eval ?? true) model.eval();
  const steps: TrajectoryStep[] = [];
  const counts = new Map<number, number>();
  const handles = named.map(([, m]) =>
    m.addStepListener((r) => {
      const name = names.get(m)!;
      const stage = Number(/^layer(\d+)\./.exec(name)?.[1] ?? 0);
      const indexInStage = stage ? (counts.get(stage) ?? 0) : steps.length;
      counts.set(stage, indexInStage + 1);
      steps.push({ name, index: steps.length, stage, indexInStage, input: r.input, shortcut: r.shortcut, residual: r.residual, attention: r.attention, output: r.output });
    }),
  );
  const recorded = (s: TrajectoryStep) => [s.input, s.shortcut, s.residual, s.attention, s.output].filter((t): t is Tensor => t !== null);
  let output: Tensor;
  try {
    // The scope frees the layers' intermediates; the recorded tensors survive as part of its result.
    output = scope(() => noGrad(() => ({ out: model.call(batch) as Tensor, kept: steps.map(recorded) }))).out;
  } finally {
    handles.forEach((h) => h.remove());
    model.train(wasTraining);
  }
  const owned = new Set<Tensor>();
  for (const s of steps) for (const t of recorded(s)) if (t !== batch) owned.add(t);
  return {
    steps,
    output,
    dispose() {
      for (const t of owned) if (!t.isDisposed) t.dispose();
      if (!output.isDisposed) output.dispose();
    },
  };
}

export interface BlockNsi {
  name: string;
  index: number;
  stage: number;
  indexInStage: number;
  /** NSI per sample, or null when the block is skipped. */
  values: Float64Array | null;
  /** Why the block has no NSI (shape change, no next block). */
  skipped?: string;
}

export interface NsiResult {
  kind: NsiKind;
  eps: number;
  blocks: BlockNsi[];
}

/** NSI per sample and block of a recorded trajectory (see the file header for the kinds). */
export function neuralStiffnessIndex(traj: Trajectory, opts: NsiOptions = {}): NsiResult {
  const kind = opts.kind ?? 'relative-step';
  const eps = opts.eps ?? STIFFNESS_EPS;
  if (kind !== 'relative-step' && kind !== 'lipschitz') throw new OpError('neuralStiffnessIndex', `kind must be 'relative-step' or 'lipschitz', got '${String(kind)}'`);
  if (!(eps >= 0)) throw new OpError('neuralStiffnessIndex', `eps must be non-negative, got ${eps}`);
  const blocks = traj.steps.map((s, i): BlockNsi => {
    const base = { name: s.name, index: s.index, stage: s.stage, indexInStage: s.indexInStage };
    if (!sameShape(s.input, s.output)) return { ...base, values: null, skipped: `shape changes ${fmt(s.input)} -> ${fmt(s.output)}` };
    if (kind === 'relative-step') return { ...base, values: Float64Array.from(scope(() => stiffnessIndex(s.input, s.output, eps).dataSync())) };
    const next = traj.steps[i + 1];
    if (!next) return { ...base, values: null, skipped: 'last block: no f_{t+1}' };
    if (!sameShape(next.residual, s.residual)) return { ...base, values: null, skipped: `next residual has another shape ${fmt(s.residual)} -> ${fmt(next.residual)}` };
    const v = scope(() => sampleNorm(sub(next.residual, s.residual)).div(sampleNorm(sub(s.output, s.input)).add(eps)).dataSync());
    return { ...base, values: Float64Array.from(v) };
  });
  return { kind, eps, blocks };
}

export interface BlockSummary {
  name: string;
  index: number;
  stage: number;
  indexInStage: number;
  /** Samples measured (0 when skipped). */
  count: number;
  mean: number;
  min: number;
  max: number;
  /** Population standard deviation over samples. */
  std: number;
  /** max − min: the width of the per-sample band. */
  spread: number;
  skipped?: string;
}

/** Mean, min, max, std and spread of the NSI per block (NaN fields for skipped blocks). */
export function nsiSummary(result: NsiResult): BlockSummary[] {
  return result.blocks.map((b) => {
    const base = { name: b.name, index: b.index, stage: b.stage, indexInStage: b.indexInStage };
    if (!b.values || b.values.length === 0) return { ...base, count: 0, mean: NaN, min: NaN, max: NaN, std: NaN, spread: NaN, skipped: b.skipped ?? 'no samples' };
    const v = b.values;
    let s = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (const x of v) {
      s += x;
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
    }
    const m = s / v.length;
    let q = 0;
    for (const x of v) q += (x - m) ** 2;
    return { ...base, count: v.length, mean: m, min: lo, max: hi, std: Math.sqrt(q / v.length), spread: hi - lo };
  });
}

/** Ranks with ties averaged (1-based). */
function ranks(v: ArrayLike<number>): number[] {
  const idx = Array.from({ length: v.length }, (_, i) => i).sort((a, b) => v[a]! - v[b]!);
  const r = new Array<number>(v.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && v[idx[j + 1]!] === v[idx[i]!]) j++;
    for (let k = i; k <= j; k++) r[idx[k]!] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}

/** Spearman rank correlation of two equally long samples (NaN when either is constant or n < 2). */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new OpError('spearman', `samples must have the same length, got ${a.length} and ${b.length}`);
  const n = a.length;
  if (n < 2) return NaN;
  const ra = ranks(a);
  const rb = ranks(b);
  const ma = ra.reduce((x, y) => x + y, 0) / n;
  const mb = rb.reduce((x, y) => x + y, 0) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (ra[i]! - ma) * (rb[i]! - mb);
    saa += (ra[i]! - ma) ** 2;
    sbb += (rb[i]! - mb) ** 2;
  }
  return saa === 0 || sbb === 0 ? NaN : sab / Math.sqrt(saa * sbb);
}

export interface AttentionCorrelation {
  name: string;
  index: number;
  /** Spearman correlation across samples between mean_c a_t and NSI_t; null when not measurable. */
  rho: number | null;
  /** Mean over samples of mean_c a_t; null for plain blocks. */
  meanAttention: number | null;
}

/**
 * Per block, the Spearman correlation across samples between the mean step size mean_c a_t and
 * NSI_t (the paper's reading: fine steps where the trajectory is stiff). Plain and skipped blocks
 * give null.
 */
export function attentionNsiCorrelation(traj: Trajectory, nsi: NsiResult): AttentionCorrelation[] {
  return traj.steps.map((s, i) => {
    const values = nsi.blocks[i]?.values ?? null;
    if (!s.attention) return { name: s.name, index: s.index, rho: null, meanAttention: null };
    const a = Float64Array.from(scope(() => s.attention!.mean(1).dataSync()));
    const meanAttention = a.reduce((x, y) => x + y, 0) / a.length;
    const rho = values ? spearman(a, values) : NaN;
    return { name: s.name, index: s.index, rho: Number.isNaN(rho) ? null : rho, meanAttention };
  });
}

export interface BlockRank {
  name: string;
  index: number;
  score: number;
}

/**
 * HEURISTIC (not from the paper): ranks the measured blocks by how much their NSI varies across
 * samples (`by`: 'spread' = max − min, default, or 'std'), widest first: a cheap proposal of where a
 * per-sample step size (attention) may help, following the paper's explanation that only stiff
 * parts of the trajectory need adaptive steps. Skipped blocks are not ranked.
 */
export function rankBlocksBySpread(summary: readonly BlockSummary[], opts: { by?: 'spread' | 'std' } = {}): BlockRank[] {
  const by = opts.by ?? 'spread';
  if (by !== 'spread' && by !== 'std') throw new OpError('rankBlocksBySpread', `by must be 'spread' or 'std', got '${String(by)}'`);
  return summary
    .filter((b) => b.count > 0)
    .map((b) => ({ name: b.name, index: b.index, score: b[by] }))
    .sort((x, y) => y.score - x.score || x.index - y.index);
}

/**
 * HEURISTIC: a connection scheme (one boolean per block of `summary`, forward order) that puts
 * attention on the `count` blocks with the widest NSI spread (default: half of the measured ones,
 * rounded up). Skipped blocks get false unless `includeSkipped`.
 */
export function proposeConnectionScheme(summary: readonly BlockSummary[], opts: { count?: number; by?: 'spread' | 'std'; includeSkipped?: boolean } = {}): boolean[] {
  const ranked = rankBlocksBySpread(summary, opts);
  const count = opts.count ?? Math.ceil(ranked.length / 2);
  if (!Number.isInteger(count) || count < 0 || count > ranked.length) throw new OpError('proposeConnectionScheme', `count must be an integer in [0, ${ranked.length}] (measured blocks), got ${count}`);
  const chosen = new Set(ranked.slice(0, count).map((r) => r.index));
  return summary.map((b) => chosen.has(b.index) || (opts.includeSkipped === true && b.count === 0));
}

/**
 * The paper's stiffness figure as line plots, one per stage: x = block index inside the stage
 * (1-based; skipped blocks leave a gap), for each labelled summary its mean NSI and its min / max
 * envelope over samples.
 */
export function nsiFigure(models: readonly { label: string; summary: readonly BlockSummary[] }[], opts: { name?: string; title?: string } = {}): LinePlot[] {
  const stages = [...new Set(models.flatMap((m) => m.summary.map((b) => b.stage)))].sort((a, b) => a - b);
  return stages.map((st) => ({
    name: `${opts.name ?? 'nsi'}-stage${st}`,
    title: `${opts.title ?? 'Neural Stiffness Index per block'}${st ? `, stage ${st}` : ''}`,
    x: { label: 'index of block' },
    y: { label: 'Neural Stiffness Index' },
    series: models.flatMap((m) => {
      const bs = m.summary.filter((b) => b.stage === st && b.count > 0);
      const x = bs.map((b) => b.indexInStage + 1);
      return [
        { name: `${m.label} mean`, x, y: bs.map((b) => b.mean) },
        { name: `${m.label} max`, x, y: bs.map((b) => b.max) },
        { name: `${m.label} min`, x, y: bs.map((b) => b.min) },
      ];
    }),
  }));
}

/**
 * Stability diagnostics of ScaleLong (sec. 3-4 and Fig. 1 of the paper): the norms of hidden
 * features and of gradients per block over training, how much they oscillate across steps and
 * seeds, and the robustness probe of its Theorem on perturbed inputs,
 *
 *   ||f(x_t + delta) - f(x_t)|| / ||delta||,   ||delta|| = epsilon,
 *
 * whose bound grows with sum_i kappa_i M0^i (M0 > 1 bounds a block pair's Lipschitz constant).
 *
 * Metrics over a logged series v_1..v_K (definitions of the research notes, sec. A10):
 *   growth       = mean(last 20%) / mean(first 5%)
 *   oscillation  = mean |log v_{k+1} - log v_k| over the last 50%
 *   range        = (max - min) / mean over the last 50%        (the "oscillation range")
 *   seedSpread   = mean over steps of (max - min across seeds) / mean across seeds
 */
import { noGrad, OpError, randnLike, scope, sqrt, sum, type nn, type Tensor } from '@methodzoo/core';
import { UNet, UViT } from '@methodzoo/models';

/** Named blocks of a UNet (input_blocks.i, middle_block, output_blocks.i) or UViT (in/mid/out blocks). */
export function namedBlocks(model: nn.Module): [string, nn.Module][] {
  if (model instanceof UNet) {
    return [
      ...[...model.input_blocks].map((b, i): [string, nn.Module] => [`input_blocks.${i}`, b]),
      ['middle_block', model.middle_block],
      ...[...model.output_blocks].map((b, i): [string, nn.Module] => [`output_blocks.${i}`, b]),
    ];
  }
  if (model instanceof UViT) {
    return [
      ...[...model.in_blocks].map((b, i): [string, nn.Module] => [`in_blocks.${i}`, b]),
      ['mid_block', model.mid_block],
      ...[...model.out_blocks].map((b, i): [string, nn.Module] => [`out_blocks.${i}`, b]),
    ];
  }
  throw new OpError('namedBlocks', `expected a UNet or UViT, got ${model.constructor.name}; pass your own [name, module] list`);
}

/** Mean over the batch of per-sample L2 norms of x [B, ...]. */
export function meanSampleNorm(x: Tensor): number {
  return noGrad(() => scope(() => {
    const b = x.shape[0]!;
    return sqrt(sum(x.detach().reshape([b, -1]).square(), 1)).mean().item();
  }));
}

export interface FeatureNormProbe {
  /** Record on the next forwards (off: the hooks cost nothing but a flag check). */
  enabled: boolean;
  /** Norm of each block's output in the last recorded forward, by block name. */
  readonly last: Map<string, number>;
  remove(): void;
}

/** Forward hooks that record `meanSampleNorm` of each block's output while `enabled`. */
export function watchFeatureNorms(blocks: [string, nn.Module][]): FeatureNormProbe {
  const last = new Map<string, number>();
  const probe: FeatureNormProbe = { enabled: true, last, remove: () => handles.forEach((h) => h.remove()) };
  const handles = blocks.map(([name, m]) =>
    m.registerForwardHook((_m, _args, out) => {
      if (probe.enabled) last.set(name, meanSampleNorm(out as Tensor));
      return undefined;
    }),
  );
  return probe;
}

/** L2 norm of the gradients of each block's parameters (after `backward`), by block name; 0 without gradients. */
export function blockGradNorms(blocks: [string, nn.Module][]): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, m] of blocks) {
    let s = 0;
    for (const p of m.parameters()) if (p.grad) s += noGrad(() => scope(() => p.grad!.square().sum().item()));
    out.set(name, Math.sqrt(s));
  }
  return out;
}

/** Global gradient norm over all parameters of `model`. */
export function globalGradNorm(model: nn.Module): number {
  let s = 0;
  for (const p of model.parameters()) if (p.grad) s += noGrad(() => scope(() => p.grad!.square().sum().item()));
  return Math.sqrt(s);
}

const avg = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const tail = (v: number[], frac: number) => v.slice(Math.min(v.length - 1, Math.floor(v.length * (1 - frac))));
function checkSeries(op: string, v: number[], min = 2): void {
  if (v.length < min) throw new OpError(op, `need at least ${min} values, got ${v.length}`);
}

/** mean(last 20%) / mean(first 5%) (at least one value each). */
export function growth(v: number[]): number {
  checkSeries('growth', v);
  const head = v.slice(0, Math.max(1, Math.floor(v.length * 0.05)));
  return avg(tail(v, 0.2)) / avg(head);
}

/** mean |Delta log v| between consecutive values over the last `frac` (0.5) of the series. */
export function oscillation(v: number[], frac = 0.5): number {
  checkSeries('oscillation', v);
  const t = v.slice(Math.min(v.length - 2, Math.floor(v.length * (1 - frac))));
  if (t.some((x) => !(x > 0))) throw new OpError('oscillation', 'values must be positive (norms)');
  let s = 0;
  for (let i = 1; i < t.length; i++) s += Math.abs(Math.log(t[i]!) - Math.log(t[i - 1]!));
  return s / (t.length - 1);
}

/** (max - min) / mean over the last `frac` (0.5) of the series. */
export function oscillationRange(v: number[], frac = 0.5): number {
  checkSeries('oscillationRange', v);
  const t = tail(v, frac);
  return (Math.max(...t) - Math.min(...t)) / avg(t);
}

/** Across seeds: mean over steps of (max - min) / mean of the seeds' values at that step. */
export function seedSpread(series: number[][]): number {
  if (series.length < 2) throw new OpError('seedSpread', `need at least 2 seeds, got ${series.length}`);
  const k = Math.min(...series.map((s) => s.length));
  let acc = 0;
  for (let i = 0; i < k; i++) {
    const col = series.map((s) => s[i]!);
    acc += (Math.max(...col) - Math.min(...col)) / avg(col);
  }
  return acc / k;
}

/** First step index whose trailing mean over `window` values falls below `threshold`, or null. */
export function stepsToThreshold(v: number[], threshold: number, window = 1): number | null {
  for (let i = window - 1; i < v.length; i++) if (avg(v.slice(i + 1 - window, i + 1)) <= threshold) return i;
  return null;
}

/**
 * The robustness probe: mean over `trials` random directions of ||f(x + delta) - f(x)|| / ||delta||
 * with ||delta|| = epsilon per sample (a finite-difference local Lipschitz estimate).
 */
export function robustnessProbe(f: (x: Tensor) => Tensor, x: Tensor, opts: { epsilon?: number; trials?: number; generator?: import('@methodzoo/core').Generator } = {}): number {
  const eps = opts.epsilon ?? 1e-2;
  const trials = opts.trials ?? 4;
  return noGrad(() => scope(() => {
    const b = x.shape[0]!;
    const y = f(x);
    let acc = 0;
    for (let k = 0; k < trials; k++) {
      acc += scope(() => {
        const d = randnLike(x, { generator: opts.generator });
        const norms = sqrt(sum(d.reshape([b, -1]).square(), 1)).reshape([b, ...Array(x.ndim - 1).fill(1)]);
        const delta = d.div(norms).mul(eps);
        const dy = f(x.add(delta)).sub(y);
        return sqrt(sum(dy.reshape([b, -1]).square(), 1)).mean().item() / eps;
      });
    }
    return acc / trials;
  }));
}

/**
 * Small-scale reproduction of ScaleLong's stability claim (paper sec. 4 and Fig. 1) for
 * `methodzoo repro scalelong`: two small DDPM denoisers, the `@methodzoo/models` conv UNet (concat
 * fusion, no attention) and a small U-ViT (concat + linear fusion of token skips, as the official
 * code), trained on MNIST digits with the epsilon loss, once per skip-scaling variant (org,
 * 1/sqrt2-CS, CS(kappa), LS: the channel-gate adaptation on the UNet, the official token gate on
 * the U-ViT) from the same initial weights, data order and noise for every variant of a seed and
 * backbone. Logged: the loss, the hidden-feature norm of the middle block and of the last decoder
 * block, the global gradient norm; then a held-out denoising MSE on a fixed t-grid (the
 * sample-quality proxy: FID is out of reach on a CPU), the robustness probe, the steps each variant
 * needs to reach a common loss level, and a grid of DDIM samples per variant.
 *
 * Recipe (research notes A10, U-ViT's optimiser): AdamW, betas (0.99, 0.999), weight decay 0.03,
 * a high lr 1e-3 with linear warm-up to provoke oscillation in a short run, linear beta schedule
 * T = 1000, images in [-1, 1].
 *
 * Settings (`SETTINGS`): quick (the CLI's --quick, 14x14, 12 steps, 1 seed, about half a minute),
 * medium (14x14, 300 steps, 2 seeds: the run in the README, `pnpm repro -- --medium`) and full
 * (28x28, the official N = 6 skips, 600 steps, 3 seeds: many hours on two shared cores).
 */
import { avgPool2d, clamp, compareSeeds, Generator, indexSelect, noGrad, optim, randn, scope, type ProgressReporter, type ReproEntry, type ReproOptions, type ReproResult, tensor, Tensor } from '@methodzoo/core';
import { loadMnist } from '@methodzoo/datasets';
import { epsilonLoss, linearSchedule, qSample, sample, type NoiseSchedule } from '@methodzoo/diffusion';
import { UNet, UViT } from '@methodzoo/models';
import { globalGradNorm, growth, namedBlocks, oscillation, oscillationRange, robustnessProbe, seedSpread, stepsToThreshold, watchFeatureNorms } from './diagnostics.js';
import { applyScaleLong, cs, ls, org, sqrt2, strategyName, type ScaleLongStrategy } from './skip-scaling.js';

export interface ScaleLongReproConfig {
  imageSize: 14 | 28;
  modelChannels: number;
  channelMult: number[];
  batch: number;
  steps: number;
  warmup: number;
  lr: number;
  /** Log norms every this many steps. */
  logEvery: number;
  trainImages: number;
  heldOutImages: number;
  kappa: number;
  samples: number;
  ddimSteps: number;
  /** 'unet' (default) or 'uvit': a U-ViT of `uvit` size on the same data. */
  backbone?: 'unet' | 'uvit';
  uvit?: { patchSize: number; embedDim: number; depth: number; numHeads: number };
}

/** Conv UNet settings. */
export const QUICK: ScaleLongReproConfig = { imageSize: 14, modelChannels: 8, channelMult: [1, 2], batch: 8, steps: 12, warmup: 4, lr: 1e-3, logEvery: 2, trainImages: 400, heldOutImages: 8, kappa: 0.7, samples: 4, ddimSteps: 6 };
export const MEDIUM: ScaleLongReproConfig = { ...QUICK, steps: 300, warmup: 30, logEvery: 3, heldOutImages: 32, samples: 6, ddimSteps: 10 };
export const FULL: ScaleLongReproConfig = { imageSize: 28, modelChannels: 16, channelMult: [1, 2, 2], batch: 16, steps: 600, warmup: 60, lr: 1e-3, logEvery: 5, trainImages: 4000, heldOutImages: 64, kappa: 0.7, samples: 8, ddimSteps: 25 };
/** U-ViT settings (patch-2 tokens at 14x14: 49 patches and a time token; depth / 2 long skips). */
export const QUICK_UVIT: ScaleLongReproConfig = { ...QUICK, backbone: 'uvit', uvit: { patchSize: 2, embedDim: 16, depth: 4, numHeads: 2 } };
export const MEDIUM_UVIT: ScaleLongReproConfig = { ...MEDIUM, backbone: 'uvit', uvit: { patchSize: 2, embedDim: 16, depth: 6, numHeads: 2 } };
/** The research notes' tiny U-ViT (A10b) at depth 12: N = 6 skips as the official U-ViT-S. */
export const FULL_UVIT: ScaleLongReproConfig = { ...FULL, backbone: 'uvit', uvit: { patchSize: 4, embedDim: 32, depth: 12, numHeads: 2 } };

export interface ScaleLongSetting {
  /** One config per backbone, run in this order. */
  backbones: ScaleLongReproConfig[];
  /** Seeds when the caller gives none: this many, counting up from the first seed. */
  seeds: number;
}
export const SETTINGS: Record<'quick' | 'medium' | 'full', ScaleLongSetting> = {
  quick: { backbones: [QUICK, QUICK_UVIT], seeds: 1 },
  medium: { backbones: [MEDIUM, MEDIUM_UVIT], seeds: 2 },
  full: { backbones: [FULL, FULL_UVIT], seeds: 3 },
};

/** The four variants of the paper's comparison. */
export function variants(kappa: number): ScaleLongStrategy[] {
  return [org(), sqrt2(), cs({ kappa }), ls()];
}

export interface VariantRun {
  name: string;
  seed: number;
  losses: number[];
  logSteps: number[];
  midNorm: number[];
  lastNorm: number[];
  gradNorm: number[];
  heldOutMse: number;
  robustness: number;
  /** [samples, 1, H, W] in [-1, 1], flattened. */
  samples: Float32Array;
}

const HELD_OUT_T = [50, 250, 500, 750, 950];
const DEFAULT_UVIT = { patchSize: 2, embedDim: 16, depth: 6, numHeads: 2 };

export function buildModel(cfg: ScaleLongReproConfig, seed: number): UNet | UViT {
  if (cfg.backbone === 'uvit') {
    const u = cfg.uvit ?? DEFAULT_UVIT;
    return new UViT({ imageSize: cfg.imageSize, inChannels: 1, ...u, mlpRatio: 2, generator: new Generator(seed) });
  }
  return new UNet({ inChannels: 1, modelChannels: cfg.modelChannels, channelMult: cfg.channelMult, numResBlocks: 1, numGroups: Math.min(8, cfg.modelChannels), attentionResolutions: [], middleAttention: false, generator: new Generator(seed) });
}

/** MNIST train/held-out images in [-1, 1] at the configured size. */
export function loadData(cfg: ScaleLongReproConfig): { train: Tensor; heldOut: Tensor } {
  const ds = loadMnist({ limit: { train: cfg.trainImages, test: cfg.heldOutImages } });
  const prep = (x: Tensor) => noGrad(() => (cfg.imageSize === 14 ? avgPool2d(x, 2) : x).mul(2).sub(1));
  return { train: prep(ds.train.x), heldOut: prep(ds.test.x) };
}

/** eps-MSE on held-out images at a fixed t-grid with fixed noise. */
export function heldOutMse(model: UNet | UViT, schedule: NoiseSchedule, x: Tensor): number {
  return noGrad(() => scope(() => {
    const g = new Generator(12345);
    let acc = 0;
    for (const t of HELD_OUT_T) acc += epsilonLoss((a, tt) => model.call(a, tt), schedule, x, { t: Array(x.shape[0]!).fill(t), noise: randn(x.shape, { generator: g }) }).item();
    return acc / HELD_OUT_T.length;
  }));
}

/** Trains one variant for one seed; every variant of a seed starts from the same weights and sees the same batches and noise. */
export function trainVariant(strategy: ScaleLongStrategy, seed: number, cfg: ScaleLongReproConfig, data: { train: Tensor; heldOut: Tensor }, onStep?: (step: number, loss: number) => void): VariantRun {
  const schedule = linearSchedule(1000);
  const model = applyScaleLong(buildModel(cfg, seed), strategy.kind === 'ls' ? ls({ shared: strategy.shared, reduction: strategy.reduction, generator: new Generator(seed + 7919) }) : strategy);
  const blocks = namedBlocks(model);
  const midName = blocks[(blocks.length - 1) / 2]![0]; // middle_block / mid_block
  const lastName = blocks[blocks.length - 1]![0];
  const probe = watchFeatureNorms(blocks.filter(([n]) => n === midName || n === lastName));
  const opt = new optim.AdamW(model.parameters(), { lr: cfg.lr, betas: [0.99, 0.999], weightDecay: 0.03 });
  const dataGen = new Generator(seed * 1000 + 1);
  const n = data.train.shape[0]!;
  const run: VariantRun = { name: strategyName(strategy), seed, losses: [], logSteps: [], midNorm: [], lastNorm: [], gradNorm: [], heldOutMse: Number.NaN, robustness: Number.NaN, samples: new Float32Array() };
  for (let step = 0; step < cfg.steps; step++) {
    const log = step % cfg.logEvery === 0 || step === cfg.steps - 1;
    probe.enabled = log;
    for (const group of opt.paramGroups) group.lr = cfg.lr * Math.min(1, (step + 1) / cfg.warmup);
    const loss = scope(() => {
      const idx = Array.from({ length: cfg.batch }, () => dataGen.integer(0, n));
      const x0 = indexSelect(data.train, 0, tensor(idx, { dtype: 'int32' }));
      opt.zeroGrad();
      const l = epsilonLoss((a, t) => model.call(a, t), schedule, x0, { generator: dataGen });
      l.backward();
      if (log) run.gradNorm.push(globalGradNorm(model));
      opt.step();
      return l.item();
    });
    run.losses.push(loss);
    if (log) {
      run.logSteps.push(step);
      run.midNorm.push(probe.last.get(midName)!);
      run.lastNorm.push(probe.last.get(lastName)!);
    }
    onStep?.(step, loss);
  }
  probe.remove();
  run.heldOutMse = heldOutMse(model, schedule, data.heldOut);
  const xt = noGrad(() => qSample(schedule, data.heldOut, Array(data.heldOut.shape[0]!).fill(500), randn(data.heldOut.shape, { generator: new Generator(777) })));
  run.robustness = robustnessProbe((z) => model.call(z, Array(z.shape[0]!).fill(500)), xt, { epsilon: 1e-2, trials: 2, generator: new Generator(778) });
  xt.dispose();
  const s = cfg.imageSize;
  const imgs = sample((a, t) => model.call(a, t), schedule, [cfg.samples, 1, s, s], { sampler: 'ddim', steps: cfg.ddimSteps, generator: new Generator(4242), clipDenoised: true });
  run.samples = Float32Array.from(imgs.dataSync() as Float32Array);
  imgs.dispose();
  model.dispose();
  for (const st of opt.state.values()) for (const v of Object.values(st)) if (v instanceof Tensor) v.dispose();
  opt.state.clear();
  return run;
}

const avg = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const sd = (v: number[]) => (v.length < 2 ? 0 : Math.sqrt(v.reduce((a, b) => a + (b - avg(v)) ** 2, 0) / (v.length - 1)));
const pm = (v: number[], d = 3) => (v.length > 1 ? `${avg(v).toFixed(d)} ± ${sd(v).toFixed(d)}` : avg(v).toFixed(d));
/** Trailing moving average over `w` values. */
const smooth = (v: number[], w: number) => v.map((_, i) => avg(v.slice(Math.max(0, i + 1 - w), i + 1)));

/** 'UNet' or 'U-ViT', and a short description of the backbone. */
export function describeBackbone(cfg: ScaleLongReproConfig): { name: string; detail: string } {
  if (cfg.backbone === 'uvit') {
    const u = cfg.uvit ?? DEFAULT_UVIT;
    return { name: 'U-ViT', detail: `U-ViT patch ${u.patchSize}, dim ${u.embedDim}, depth ${u.depth} (${u.depth / 2} skips), ${u.numHeads} heads` };
  }
  return { name: 'UNet', detail: `conv UNet width ${cfg.modelChannels}, levels [${cfg.channelMult.join(', ')}] (${2 * cfg.channelMult.length} skips)` };
}

interface BackboneResult {
  cfg: ScaleLongReproConfig;
  name: string;
  key: string;
  runs: VariantRun[][];
  threshold: number;
  w: number;
  oscLast: number[][];
  oscGrad: number[][];
  rangeLast: number[][];
  rangeGrad: number[][];
  heldOut: number[][];
  toThreshold: number[][];
  rows: (string | number | null)[][];
}

function summarise(cfg: ScaleLongReproConfig, names: string[], runs: VariantRun[][]): BackboneResult {
  const w = Math.max(5, Math.floor(cfg.steps / 10));
  // the common loss level: the worst final smoothed loss among all runs of this backbone, so every run reaches it
  const threshold = Math.max(...runs.flat().map((r) => smooth(r.losses, w).at(-1)!));
  const per = (f: (r: VariantRun) => number) => runs.map((rs) => rs.map(f));
  const finalLoss = per((r) => avg(r.losses.slice(-Math.max(1, Math.floor(r.losses.length / 5)))));
  const heldOut = per((r) => r.heldOutMse);
  const oscLast = per((r) => oscillation(r.lastNorm));
  const oscMid = per((r) => oscillation(r.midNorm));
  const oscGrad = per((r) => oscillation(r.gradNorm));
  // oscillation range: (max - min) / mean over the last half of the steps; seed spread: the same across seeds, step by step
  const rangeLast = per((r) => oscillationRange(r.lastNorm));
  const rangeGrad = per((r) => oscillationRange(r.gradNorm));
  const spreadLast = runs.map((rs) => (rs.length > 1 ? seedSpread(rs.map((r) => r.lastNorm)) : 0));
  const levelLast = per((r) => avg(r.lastNorm.slice(-Math.max(1, Math.floor(r.lastNorm.length / 5)))));
  const growthMid = per((r) => growth(r.midNorm));
  const robust = per((r) => r.robustness);
  const toThreshold = per((r) => (stepsToThreshold(smooth(r.losses, w), threshold) ?? cfg.steps) + 1);
  const { name } = describeBackbone(cfg);
  const rows = names.map((v, k) => [name, v, pm(finalLoss[k]!, 4), pm(heldOut[k]!, 4), pm(levelLast[k]!, 1), pm(oscLast[k]!), pm(oscMid[k]!), pm(oscGrad[k]!), pm(rangeLast[k]!, 2), pm(rangeGrad[k]!, 2), spreadLast[k]!.toFixed(3), pm(growthMid[k]!, 2), pm(robust[k]!, 2), threshold.toFixed(4), pm(toThreshold[k]!, 0)]);
  return { cfg, name, key: cfg.backbone ?? 'unet', runs, threshold, w, oscLast, oscGrad, rangeLast, rangeGrad, heldOut, toThreshold, rows };
}

/**
 * Runs a setting (every backbone, every variant, every seed) and builds the report: one table row
 * per backbone and variant, loss / norm curves, oscillation bars and sample grids per backbone.
 */
export async function runSetting(setting: ScaleLongSetting, options: ReproOptions, progress: ProgressReporter): Promise<ReproResult> {
  const seeds = options.seeds ?? Array.from({ length: setting.seeds }, (_, i) => options.seed + i);
  const t0 = performance.now();
  const results: BackboneResult[] = [];
  const seconds: Record<string, number> = {};
  for (const cfg of setting.backbones) {
    const tb = performance.now();
    const data = loadData(cfg);
    const { name, detail } = describeBackbone(cfg);
    progress.log(`${name}: MNIST ${cfg.imageSize}x${cfg.imageSize}, ${data.train.shape[0]} train / ${data.heldOut.shape[0]} held-out images; ${detail}; ${cfg.steps} steps x batch ${cfg.batch}; seeds [${seeds.join(', ')}]`);
    const strategies = variants(cfg.kappa);
    const runs: VariantRun[][] = strategies.map(() => []);
    for (const seed of seeds) {
      strategies.forEach((s, k) => {
        const task = progress.task(`${name} ${strategyName(s)} seed ${seed}`, cfg.steps);
        runs[k]!.push(trainVariant(s, seed, cfg, data, (_i, loss) => task.tick(1, { loss: loss.toFixed(4) })));
        task.done();
      });
    }
    data.train.dispose();
    data.heldOut.dispose();
    results.push(summarise(cfg, strategies.map(strategyName), runs));
    seconds[name] = (performance.now() - tb) / 1000;
  }
  const table = {
    columns: ['backbone', 'variant', 'final loss', 'held-out eps-MSE', 'last-decoder ||h||', 'osc. ||h|| last', 'osc. ||h|| mid', 'osc. grad', 'range ||h|| last', 'range grad', 'seed spread ||h|| last', 'growth ||h|| mid', 'robustness', 'loss level', 'steps to loss level'],
    rows: results.flatMap((r) => r.rows),
  };
  const metrics: Record<string, number | number[]> = { seconds: (performance.now() - t0) / 1000 };
  for (const r of results) {
    metrics[`${r.name} seconds`] = seconds[r.name]!;
    metrics[`${r.name} loss level`] = r.threshold;
    r.runs.forEach((rs, k) => {
      const v = rs[0]!.name;
      metrics[`${r.name} ${v} held-out MSE`] = r.heldOut[k]!;
      metrics[`${r.name} ${v} osc last norm`] = r.oscLast[k]!;
      metrics[`${r.name} ${v} osc grad`] = r.oscGrad[k]!;
      metrics[`${r.name} ${v} range last norm`] = r.rangeLast[k]!;
      metrics[`${r.name} ${v} range grad`] = r.rangeGrad[k]!;
      metrics[`${r.name} ${v} steps to threshold`] = r.toThreshold[k]!;
    });
  }
  const series = results.flatMap((r) => {
    const first = (k: number) => r.runs[k]![0]!;
    const vs = r.runs.map((rs) => rs[0]!.name);
    return [
      { name: `${r.key}-loss`, title: `${r.name}: training loss (moving average over ${r.w} steps, seed ${seeds[0]})`, x: { label: 'step' }, y: { label: 'eps-MSE' }, series: vs.map((name, k) => ({ name, x: first(k).losses.map((_, i) => i), y: smooth(first(k).losses, r.w) })) },
      { name: `${r.key}-feature-norm`, title: `${r.name}: last decoder block, mean per-sample ||h|| (seed ${seeds[0]})`, x: { label: 'step' }, y: { label: '||h||' }, series: vs.map((name, k) => ({ name, x: first(k).logSteps, y: first(k).lastNorm })) },
      { name: `${r.key}-mid-norm`, title: `${r.name}: middle block, mean per-sample ||h|| (seed ${seeds[0]})`, x: { label: 'step' }, y: { label: '||h||' }, series: vs.map((name, k) => ({ name, x: first(k).logSteps, y: first(k).midNorm })) },
      { name: `${r.key}-grad-norm`, title: `${r.name}: global gradient norm (seed ${seeds[0]})`, x: { label: 'step' }, y: { label: '||g||', log: true }, series: vs.map((name, k) => ({ name, x: first(k).logSteps, y: first(k).gradNorm })) },
    ];
  });
  const bars = results.flatMap((r) => {
    const vs = r.runs.map((rs) => rs[0]!.name);
    return [
      { name: `${r.key}-oscillation-feature`, title: `${r.name}: oscillation of the last-decoder feature norm (mean |Δ log ||h|||, last half)`, y: { label: 'oscillation' }, bars: vs.map((label, k) => ({ label, values: r.oscLast[k]! })) },
      { name: `${r.key}-oscillation-grad`, title: `${r.name}: oscillation of the gradient norm (mean |Δ log ||g|||, last half)`, y: { label: 'oscillation' }, bars: vs.map((label, k) => ({ label, values: r.oscGrad[k]! })) },
      { name: `${r.key}-held-out-mse`, title: `${r.name}: held-out denoising eps-MSE on t in {50, 250, 500, 750, 950}`, y: { label: 'eps-MSE' }, bars: vs.map((label, k) => ({ label, values: r.heldOut[k]! })) },
    ];
  });
  const images = results.map((r) => {
    const s = r.cfg.imageSize;
    const vs = r.runs.map((rs) => rs[0]!.name);
    return {
      name: `${r.key}-samples`,
      title: `${r.name}: DDIM samples (${r.cfg.ddimSteps} steps, eta 0, same noise) per variant, seed ${seeds[0]}: one row each (${vs.join(', ')})`,
      columns: r.cfg.samples,
      images: vs.flatMap((name, k) => {
        const px = r.runs[k]![0]!.samples;
        return Array.from({ length: r.cfg.samples }, (_, j) => ({
          image: { width: s, height: s, channels: 1 as const, pixels: Array.from(px.subarray(j * s * s, (j + 1) * s * s), (v) => Math.min(1, Math.max(0, (v + 1) / 2))) },
          caption: j === 0 ? name : undefined,
        }));
      }),
    };
  });
  const enough = seeds.length >= 2 && results.every((r) => r.cfg.steps >= 300);
  // the claim, per backbone: CS and LS oscillate less than org (last-decoder feature norm), each
  // difference counted only beyond the spread over seeds
  const mOsc = results.map((r) => r.oscLast.map(avg));
  const verdicts = results.flatMap((r) => [2, 3].map((k) => compareSeeds(r.oscLast[k]!, r.oscLast[0]!).sign));
  const claimHolds = !enough ? null : verdicts.every((v) => v === -1) ? true : verdicts.some((v) => v === 1) ? false : null;
  return {
    table,
    metrics,
    series,
    bars,
    images,
    notes: [
      `Backbones: ${results.map((r) => describeBackbone(r.cfg).detail + ` on ${r.cfg.imageSize}x${r.cfg.imageSize} MNIST, ${r.cfg.steps} steps`).join('; ')}. The paper trains U-ViT and UNet backbones for hundreds of thousands of steps on CIFAR10, CelebA, ImageNet and COCO and reports FID.`,
      'LS gates tokens on the U-ViT (the official module); on the conv UNet it is our adaptation (a per-channel SE gate, one per skip width).',
      'Held-out eps-MSE stands in for FID; steps to the loss level count the steps until the moving-average loss first reaches the worst final level of all runs of that backbone.',
      'claimHolds counts a difference (CS or LS minus org) only beyond the spread over seeds: yes when CS and LS both oscillate less on every backbone, no when either oscillates more on one, undecided otherwise.',
      ...(enough ? [] : ['Too few steps or seeds to judge the claim (quick mode): claimHolds is null.']),
    ],
    claimHolds,
    claimSummary: `oscillation of the last-decoder feature norm over ${seeds.length} seed(s): ${results.map((r, i) => `${r.name} (${r.cfg.steps} steps) ${r.runs.map((rs, k) => `${rs[0]!.name} ${mOsc[i]![k]!.toFixed(4)}`).join(', ')}`).join('; ')}`,
  };
}

export const repro: ReproEntry = {
  name: 'scalelong',
  title: 'ScaleLong: Towards More Stable Training of Diffusion Model via Scaling Network Long Skip Connection',
  paper: { title: 'ScaleLong: Towards More Stable Training of Diffusion Model via Scaling Network Long Skip Connection', arxiv: '2310.13545', venue: 'NeurIPS 2023' },
  claim: 'Scaling the long skip connections (CS, LS) of UNet and U-ViT denoisers makes hidden-feature and gradient norms oscillate less during diffusion training than the original network (org), with 1/sqrt2-CS in between.',
  run(options, progress): Promise<ReproResult> {
    return runSetting(options.quick ? SETTINGS.quick : SETTINGS.full, options, progress);
  },
};

export default repro;

/** Pixel values of a sample batch in [0, 1] (for users who save grids themselves). */
export function toUnitRange(x: Tensor): Tensor {
  return noGrad(() => clamp(x.add(1).div(2), 0, 1));
}

/**
 * Small-scale reproduction for `methodzoo repro asr` (core's ReproEntry contract) of ASR (Huang,
 * Zhong et al., ECCV 2024, arXiv 2304.06345), section 4 at toy scale: plain, SE, ASR(SE) and
 * ASR(SE)+SE versions of one CIFAR ResNet trained on the same Fashion-MNIST subset with the same
 * seeds (same backbone initialisation and batch order per seed).
 *
 * Protocol (official `run.py`): after every epoch the ASR models are reparameterised (keeping the
 * training parameters), evaluated in their deployed form, and switched back to training. Reported:
 * test accuracy (mean and spread over seeds), parameter counts and inference time before and after
 * the final reparameterisation, the largest logit change it causes (exactness), and the stripe
 * statistic S of every SE gate per epoch (stripeStats) with heat maps of the gate matrix.
 *
 * Scale: ResNet-8 (one basic block per stage, widths 8/16/32), SE reduction 4, 14x14 images
 * (2x2 average pooled), SGD lr 0.05 momentum 0.9 wd 1e-4, batch 16. Quick: 50 training and 20 test
 * images per class, 1 epoch, seeds [seed, seed + 1]. Full: 150 / 50 per class, 2 epochs, 3 seeds
 * (about 5 CPU minutes).
 */
import * as mz from '@methodzoo/core';
import { compareSeeds, type ImageGrid, type LinePlot, type ProgressReporter, type ReproEntry, type ReproOptions, type ReproResult, seedMean, seedStd } from '@methodzoo/core';
import { loadFashionMnist } from '@methodzoo/datasets';
import { CifarResNet, SEBlock } from '@methodzoo/models';
import { asrify, reparameterize, toTrain } from './reparam.js';
import { stripeStats, type StripeLayerStats } from './stripes.js';

export type Variant = 'plain' | 'se' | 'asr' | 'asr+se';
export const VARIANTS: readonly { key: Variant; label: string; paper: number }[] = [
  { key: 'plain', label: 'ResNet', paper: 74.1 },
  { key: 'se', label: '+ SE', paper: 75.03 },
  { key: 'asr', label: '+ ASR(SE)', paper: 75.21 },
  { key: 'asr+se', label: '+ ASR(SE) + SE', paper: 76.23 },
];

const REDUCTION = 4;
const WIDTH = 0.5;
const BATCH = 16;
const LR = 0.02;

/** The ResNet-8 of one variant; the backbone's initialisation depends on `seed` only. */
export function buildVariant(variant: Variant, seed: number): CifarResNet {
  const net = new CifarResNet({ depth: 8, inChannels: 1, width: WIDTH, numClasses: 10, generator: new mz.Generator(seed) });
  const g = new mz.Generator(seed + 7919);
  if (variant === 'se') for (const b of net.blocks()) b.attention = new SEBlock(b.outChannels, { reduction: REDUCTION, generator: g });
  if (variant === 'asr' || variant === 'asr+se') asrify(net, { reduction: REDUCTION, useBoth: variant === 'asr+se', generator: g });
  return net;
}

interface Data {
  train: mz.data.TensorDataset;
  testX: mz.Tensor;
  testY: mz.Tensor;
  probe: mz.Tensor;
}

function loadData(trainPerClass: number, testPerClass: number, probe: number): Data {
  const ds = loadFashionMnist({ perClass: { train: trainPerClass, test: testPerClass }, normalize: true });
  const shrink = (x: mz.Tensor) => mz.scope(() => mz.avgPool2d(x, 2));
  const train = new mz.data.TensorDataset(shrink(ds.train.x), ds.train.y);
  const testX = shrink(ds.test.x);
  ds.train.x.dispose();
  ds.test.x.dispose();
  return { train, testX, testY: ds.test.y, probe: mz.keep(testX.slice(0, 0, Math.min(probe, testX.shape[0]!))) };
}

function evaluate(net: mz.nn.Module, data: Data): { accuracy: number; logits: Float32Array } {
  return mz.noGrad(() =>
    mz.scope(() => {
      const logits = net.call(data.testX) as mz.Tensor;
      const correct = mz.eq(mz.argmax(logits, 1), data.testY).sum().item();
      return { accuracy: (100 * correct) / data.testY.shape[0]!, logits: Float32Array.from(logits.dataSync() as Float32Array) };
    }),
  );
}

/** Median wall time (ms) of `reps` eval forwards over the test images. */
function inferenceMs(net: mz.nn.Module, x: mz.Tensor, reps: number): number {
  net.eval();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    mz.noGrad(() => mz.scope(() => void (net.call(x) as mz.Tensor).dataSync()));
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

export interface VariantRun {
  variant: Variant;
  seed: number;
  losses: number[];
  /** Test accuracy after each epoch (the deployed model for ASR variants). */
  accuracy: number[];
  paramsTrain: number;
  paramsDeployed: number;
  msTrainForm: number;
  msDeployed: number;
  /** max |logit before folding - logit after| / max(1, max |logit|) over the test set. */
  foldError: number;
  /** Per epoch (0 = before training): stripeStats of every gate. */
  stripes: StripeLayerStats[][];
}

function runVariant(variant: Variant, seed: number, epochs: number, data: Data, progress: ProgressReporter): { run: VariantRun; net: CifarResNet } {
  const net = buildVariant(variant, seed);
  const asr = variant === 'asr' || variant === 'asr+se';
  const opt = new mz.optim.SGD(net.parameters(), { lr: LR, momentum: 0.9, weightDecay: 1e-4 });
  const loader = new mz.data.DataLoader(data.train, { batchSize: BATCH, shuffle: true, generator: new mz.Generator(seed + 1) });
  const run: VariantRun = { variant, seed, losses: [], accuracy: [], paramsTrain: net.numParameters(), paramsDeployed: 0, msTrainForm: Number.NaN, msDeployed: Number.NaN, foldError: 0, stripes: [] };
  const stripes = () => (variant === 'plain' ? [] : stripeStats(net, data.probe, { batchSize: 128 }));
  run.stripes.push(stripes());
  const bar = progress.task(`${variant} seed ${seed}`, epochs * loader.length);
  for (let e = 0; e < epochs; e++) {
    net.train();
    for (const [xb, yb] of loader) {
      const loss = mz.scope(() => {
        opt.zeroGrad();
        const l = mz.crossEntropy(net.call(xb!), yb!);
        l.backward();
        opt.step();
        return l.item();
      });
      xb!.dispose();
      yb!.dispose();
      run.losses.push(loss);
      bar.tick(1, { loss: loss.toFixed(3) });
    }
    run.stripes.push(stripes());
    // The official protocol: evaluate the reparameterised model, then train on with ASR.
    if (asr) reparameterize(net, { keepTraining: true });
    run.accuracy.push(evaluate(net.eval(), data).accuracy);
    if (asr) toTrain(net);
  }
  bar.done();
  return { run, net: net.eval() };
}

/** Median wall times (ms) of eval forwards of `x`, the models taking turns so load spikes hit all alike. */
function interleavedMs(nets: mz.nn.Module[], x: mz.Tensor, reps: number): number[] {
  const times = nets.map(() => [] as number[]);
  for (const net of nets) inferenceMs(net, x, 1); // warm-up
  for (let i = 0; i < reps; i++) nets.forEach((net, k) => times[k]!.push(inferenceMs(net, x, 1)));
  return times.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]!);
}

/** Trains the four variants on one seed, then folds the ASR ones: parameter counts, fold error, and (when `timeOn`) inference times. */
function runSeed(seed: number, epochs: number, data: Data, reps: number, timeOn: mz.Tensor | null, progress: ProgressReporter): VariantRun[] {
  const trained = VARIANTS.map(({ key }) => runVariant(key, seed, epochs, data, progress));
  const nets = trained.map((t) => t.net);
  try {
    if (timeOn) interleavedMs(nets, timeOn, reps).forEach((ms, k) => (trained[k]!.run.msTrainForm = ms));
    for (const { run, net } of trained) {
      const before = evaluate(net, data).logits;
      if (run.variant === 'asr' || run.variant === 'asr+se') reparameterize(net);
      run.paramsDeployed = net.numParameters();
      const after = evaluate(net, data).logits;
      let scale = 1;
      for (const v of before) scale = Math.max(scale, Math.abs(v));
      for (let i = 0; i < before.length; i++) run.foldError = Math.max(run.foldError, Math.abs(after[i]! - before[i]!) / scale);
    }
    if (timeOn) interleavedMs(nets, timeOn, reps).forEach((ms, k) => (trained[k]!.run.msDeployed = ms));
  } finally {
    for (const net of nets) net.dispose();
  }
  return trained.map((t) => t.run);
}

const mean = seedMean;
const std = seedStd;
const round = (v: number, d: number) => Number(v.toFixed(d));

export const repro: ReproEntry = {
  name: 'asr',
  title: 'ASR: attention folded into BatchNorm (Fashion-MNIST, ResNet-8)',
  paper: { title: 'Stripe Observation Guided Inference Cost-Free Attention Mechanism', arxiv: '2304.06345', venue: 'ECCV 2024' },
  claim:
    'ASR(SE) is more accurate than the plain backbone at no inference cost: folded into the BatchNorms, the deployed model has the plain backbone\'s parameter count and computes the same logits as before folding.',

  async run(options: ReproOptions, progress: ProgressReporter): Promise<ReproResult> {
    const quick = options.quick;
    const seeds = options.seeds ?? (quick ? [options.seed, options.seed + 1] : [options.seed, options.seed + 1, options.seed + 2]);
    const epochs = quick ? 1 : 2;
    const data = loadData(quick ? 50 : 150, quick ? 20 : 50, quick ? 64 : 256);
    const reps = quick ? 3 : 9;
    progress.log(`Fashion-MNIST 14x14: ${data.train.length} training / ${data.testY.shape[0]} test images; ${epochs} epoch(s), seeds ${seeds.join(', ')}; backend ${mz.backendInfo().current}`);
    const runs: VariantRun[] = [];
    try {
      const timeOn = mz.keep(data.testX.slice(0, 0, 64));
      try {
        seeds.forEach((seed, i) => runs.push(...runSeed(seed, epochs, data, reps, i === 0 ? timeOn : null, progress)));
      } finally {
        timeOn.dispose();
      }
    } finally {
      data.train.tensors.forEach((t) => t.dispose());
      data.testX.dispose();
      data.testY.dispose();
      data.probe.dispose();
    }

    const of = (v: Variant) => runs.filter((r) => r.variant === v);
    const final = (v: Variant) => of(v).map((r) => r.accuracy[r.accuracy.length - 1]!);
    const rows = VARIANTS.map(({ key, label, paper }) => {
      const rs = of(key);
      return [
        label,
        round(mean(final(key)), 2),
        round(std(final(key)), 2),
        paper,
        rs[0]!.paramsTrain,
        rs[0]!.paramsDeployed,
        round(rs[0]!.msTrainForm, 1),
        round(rs[0]!.msDeployed, 1),
        Number(Math.max(...rs.map((r) => r.foldError)).toExponential(2)),
      ];
    });

    const plainParams = of('plain')[0]!.paramsDeployed;
    const asrRuns = [...of('asr'), ...of('asr+se')];
    const foldError = Math.max(...asrRuns.map((r) => r.foldError));
    const sizeHolds = of('asr').every((r) => r.paramsDeployed === plainParams);
    // The fold is exact or not; the accuracy gain counts only when it exceeds the spread over seeds.
    const { diff: gain, spread, sign } = compareSeeds(final('asr'), final('plain'));
    const claimHolds = !(sizeHolds && foldError <= 1e-4) ? false : sign === 1 ? true : sign === -1 ? false : null;
    const ratio = (v: Variant) => of(v)[0]!.msDeployed / of('plain')[0]!.msDeployed;

    // Stripe statistics of the SE model (first seed): S of every gate and of its pooled input per epoch.
    const se0 = of('se')[0]!;
    const epochsAxis = se0.stripes.map((_, e) => e);
    const layerNames = se0.stripes[0]!.map((s) => s.name);
    const stripePlot: LinePlot = {
      name: 'stripe-score',
      title: `Stripe score S = within-channel std / between-channel std of the SE gates (and of their pooled inputs), seed ${se0.seed}`,
      x: { label: 'epoch' },
      y: { label: 'S', log: true },
      series: layerNames.flatMap((name, i) => [
        { name: `${name} gate`, x: epochsAxis, y: se0.stripes.map((st) => st[i]!.gate.S) },
        { name: `${name} input`, x: epochsAxis, y: se0.stripes.map((st) => st[i]!.input.S) },
      ]),
    };
    const lossPlot: LinePlot = {
      name: 'loss',
      title: `Training loss per step (seed ${seeds[0]}, batch ${BATCH})`,
      x: { label: 'step' },
      y: { label: 'loss', unit: 'nats' },
      series: VARIANTS.map(({ key, label }) => {
        const r = of(key)[0]!;
        return { name: label, x: r.losses.map((_, i) => i + 1), y: r.losses };
      }),
    };
    const heat = (r: VariantRun, epoch: number, layer: number, caption: string) => ({ image: r.stripes[epoch]![layer]!.heatmap!, caption });
    const lastLayer = layerNames.length - 1;
    const asr0 = of('asr')[0]!;
    const images: ImageGrid[] = [
      {
        name: 'stripes',
        title: `Gate values (rows: ${se0.stripes[0]![0]!.heatmap!.height} test images, columns: channels) of ${layerNames[lastLayer]}: SE before and after training, ASR's constant gate`,
        images: [
          heat(se0, 0, lastLayer, 'SE, init'),
          heat(se0, se0.stripes.length - 1, lastLayer, `SE, epoch ${epochs}`),
          heat(asr0, asr0.stripes.length - 1, asr0.stripes.at(-1)!.length - 1, `ASR(SE), epoch ${epochs}`),
        ],
        columns: 3,
      },
    ];
    const lastStripes = se0.stripes.at(-1)!;
    const metrics: Record<string, number | number[]> = {
      'fold error (max relative logit change)': foldError,
      'plain params': plainParams,
    };
    for (const { key, label } of VARIANTS) {
      metrics[`${label} accuracy (%)`] = final(key);
      metrics[`${label} deployed params`] = of(key)[0]!.paramsDeployed;
      metrics[`${label} inference time / plain`] = round(ratio(key), 3);
    }
    for (const s of lastStripes) {
      metrics[`SE ${s.name} stripe S (gate)`] = round(s.gate.S, 4);
      metrics[`SE ${s.name} stripe S (input)`] = round(s.input.S, 4);
    }

    return {
      table: {
        columns: ['model', 'test acc. (%) mean', 'std over seeds', 'paper CIFAR-100 (%)', 'params (training)', 'params (deployed)', 'inference ms (training form)', 'inference ms (deployed)', 'fold error'],
        rows,
      },
      metrics,
      series: [stripePlot, lossPlot],
      bars: [{ name: 'accuracy', title: `Test accuracy after ${epochs} epoch(s), mean and std over ${seeds.length} seeds`, y: { label: 'accuracy', unit: '%' }, bars: VARIANTS.map(({ key, label }) => ({ label, values: final(key) })) }],
      images,
      notes: [
        'Paper: ResNet-164 on CIFAR-100, 164 epochs, best-epoch accuracy of one run. Here: ResNet-8 (widths 8/16/32) on a Fashion-MNIST subset at 14x14, final-epoch accuracy; accuracy differences at this scale are within seed noise.',
        'Inference time (first seed): median of eval forwards of a batch of 64 test images, the four models taking turns; "training form" computes the gates, "deployed" is after reparameterize(). Shared CPU: expect noise of 10-20%.',
        'Fold error: max |logit before - after reparameterize| / max(1, max |logit|) over the test subset, float32.',
        `Stripe score S (stripeStats, on ${se0.stripes[0]![0]!.heatmap!.height} test images): within-channel spread of the gates over images divided by the spread of the channel means; the same for the gates' pooled inputs.`,
      ],
      claimHolds,
      claimSummary: `accuracy gain of ASR(SE) over plain ${gain.toFixed(1)} points (spread over seeds ${spread.toFixed(1)}); deployed ASR(SE) has ${of('asr')[0]!.paramsDeployed} parameters (plain ${plainParams}); largest relative logit change from folding ${foldError.toExponential(2)}; deployed inference time ASR(SE) ${ratio('asr').toFixed(2)}x plain, SE ${ratio('se').toFixed(2)}x; accuracy plain ${mean(final('plain')).toFixed(1)}, SE ${mean(final('se')).toFixed(1)}, ASR(SE) ${mean(final('asr')).toFixed(1)}, ASR(SE)+SE ${mean(final('asr+se')).toFixed(1)}%`,
    };
  },
};

export default repro;

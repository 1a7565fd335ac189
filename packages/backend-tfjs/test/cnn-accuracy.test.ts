/**
 * Method-level proof: the core demo's small CNN (conv 1->16, 16->32 /2, 32->64 /2, linear; Adam),
 * trained from the same seed on the same MNIST subset, reaches the same test accuracy on the
 * reference backend and on tfjs-wasm (they differ only in float32 rounding order).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as mz from '@methodzoo/core';
import { describe, expect, it } from 'vitest';
import '../src/index.js';

// the single-threaded build starts in a second instead of several (the default threaded one is tested in kernels.test.ts)
process.env.METHODZOO_TFJS_WASM_THREADS = '1';


const TRAIN_PER_DIGIT = 30;
const TEST_PER_DIGIT = 25;
const PIXELS = 28 * 28;

function loadSubset() {
  const dir = join(dirname(createRequire(import.meta.url).resolve('mnist/package.json')), 'src', 'digits');
  const train: number[][] = [];
  const test: number[][] = [];
  const trainY: number[] = [];
  const testY: number[] = [];
  for (let digit = 0; digit < 10; digit++) {
    const raw = (JSON.parse(readFileSync(join(dir, `${digit}.json`), 'utf8')) as { data: number[] }).data;
    for (let i = 0; i < TRAIN_PER_DIGIT + TEST_PER_DIGIT; i++) {
      const img = raw.slice(i * PIXELS, (i + 1) * PIXELS).map((v) => (v - 0.1307) / 0.3081);
      (i < TRAIN_PER_DIGIT ? train : test).push(img);
      (i < TRAIN_PER_DIGIT ? trainY : testY).push(digit);
    }
  }
  return { train: { x: Float32Array.from(train.flat()), y: Int32Array.from(trainY) }, test: { x: Float32Array.from(test.flat()), y: Int32Array.from(testY) } };
}

const data = loadSubset();

/** Trains for `epochs` on `backend` from `seed`; returns test accuracy and the final training loss. */
function trainOn(backend: string, seed: number, epochs: number): { accuracy: number; loss: number } {
  mz.setBackend(backend);
  const g = new mz.Generator(seed);
  const { nn } = mz;
  const block = (cin: number, cout: number, stride: number) => [new nn.Conv2d(cin, cout, 3, { stride, padding: 1, generator: g }), new nn.ReLU()];
  const model = new nn.Sequential(...block(1, 16, 1), ...block(16, 32, 2), ...block(32, 64, 2), new nn.Flatten(), new nn.Linear(64 * 7 * 7, 10, { generator: g }));
  const train = new mz.data.TensorDataset(mz.tensor(data.train.x.slice(), { shape: [data.train.y.length, 1, 28, 28] }), mz.tensor(data.train.y.slice()));
  const optimizer = new mz.optim.Adam(model.parameters(), { lr: 0.002 });
  const loader = new mz.data.DataLoader(train, { batchSize: 50, shuffle: true, generator: g });
  let loss = NaN;
  for (let e = 0; e < epochs; e++) {
    for (const [xb, yb] of loader) {
      loss = mz.scope(() => {
        optimizer.zeroGrad();
        const l = mz.crossEntropy(model.call(xb!), yb!);
        l.backward();
        optimizer.step();
        return l.item();
      });
      xb!.dispose();
      yb!.dispose();
    }
  }
  model.eval();
  const accuracy = mz.noGrad(() =>
    mz.scope(() => {
      const x = mz.tensor(data.test.x.slice(), { shape: [data.test.y.length, 1, 28, 28] });
      const pred = Array.from(model.call(x).argmax(1).dataSync() as Int32Array);
      let right = 0;
      pred.forEach((p, i) => (right += p === data.test.y[i] ? 1 : 0));
      return right / data.test.y.length;
    }),
  );
  return { accuracy, loss };
}

describe('small CNN on MNIST, same seed', () => {
  it('reaches the same test accuracy on the reference backend and on tfjs-wasm', async () => {
    await mz.setBackendAsync('tfjs-wasm');
    const ref = trainOn('reference', 0, 3);
    const tfjs = trainOn('tfjs-wasm', 0, 3);
    console.log(`test accuracy after 3 epochs of 300 images: reference ${ref.accuracy.toFixed(3)}, tfjs-wasm ${tfjs.accuracy.toFixed(3)}; last loss ${ref.loss.toFixed(4)} vs ${tfjs.loss.toFixed(4)}`);
    expect(ref.accuracy).toBeGreaterThan(0.6);
    expect(Math.abs(ref.accuracy - tfjs.accuracy)).toBeLessThanOrEqual(0.02);
    expect(Math.abs(ref.loss - tfjs.loss)).toBeLessThan(0.05);
  });
});

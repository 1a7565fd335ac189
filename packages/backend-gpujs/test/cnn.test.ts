/**
 * Method-level proof: the core bench's small CNN (three 3x3 convs 1->16, 16->32/2, 32->64/2, global
 * average pool, linear 64->10) trains from the same seed on the same MNIST subset to the same test
 * accuracy on gpujs-webasm as on the reference backend. To stay quick the subset is small: 300
 * training and 150 test digits from the `mnist` package, average-pooled to 14x14, two epochs of
 * Adam in batches of 20. Both runs are float32, so they differ only by rounding order.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as mz from '@methodzoo/core';
import { describe, expect, it } from 'vitest';
import '../src/index.js';

const SIDE = 14;
function loadSubset(trainPerDigit: number, testPerDigit: number) {
  const dir = join(dirname(createRequire(import.meta.url).resolve('mnist/package.json')), 'src', 'digits');
  const train = { x: [] as number[], y: [] as number[] };
  const test = { x: [] as number[], y: [] as number[] };
  for (let digit = 0; digit < 10; digit++) {
    const raw = (JSON.parse(readFileSync(join(dir, `${digit}.json`), 'utf8')) as { data: number[] }).data;
    for (let i = 0; i < trainPerDigit + testPerDigit; i++) {
      const part = i < trainPerDigit ? train : test;
      // 2x2 average pooling of the 28x28 digit, normalised with MNIST's mean and std
      for (let r = 0; r < SIDE; r++) {
        for (let c = 0; c < SIDE; c++) {
          const at = (dr: number, dc: number) => raw[i * 784 + (2 * r + dr) * 28 + 2 * c + dc]!;
          part.x.push(((at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1)) / 4 - 0.1307) / 0.3081);
        }
      }
      part.y.push(digit);
    }
  }
  return { train, test };
}
const data = loadSubset(30, 15);

function trainAndTest(backendName: string): { accuracy: number; losses: number[] } {
  mz.setBackend(backendName);
  return mz.scope(() => {
    const gen = new mz.Generator(0);
    const param = (shape: number[], fanIn: number) => mz.noGrad(() => mz.randn(shape, { generator: gen }).mul(Math.sqrt(2 / fanIn))).requiresGrad_();
    const params = [param([16, 1, 3, 3], 9), mz.zeros([16]).requiresGrad_(), param([32, 16, 3, 3], 144), mz.zeros([32]).requiresGrad_(), param([64, 32, 3, 3], 288), mz.zeros([64]).requiresGrad_(), param([10, 64], 64), mz.zeros([10]).requiresGrad_()];
    const [w1, b1, w2, b2, w3, b3, wl, bl] = params as [mz.Tensor, mz.Tensor, mz.Tensor, mz.Tensor, mz.Tensor, mz.Tensor, mz.Tensor, mz.Tensor];
    const forward = (x: mz.Tensor) => {
      let h = mz.relu(mz.conv2d(x, w1, b1, { padding: 1 }));
      h = mz.relu(mz.conv2d(h, w2, b2, { stride: 2, padding: 1 }));
      h = mz.relu(mz.conv2d(h, w3, b3, { stride: 2, padding: 1 }));
      return mz.linear(mz.mean(h, [2, 3]), wl, bl);
    };
    const n = data.train.y.length;
    const xTrain = mz.tensor(Float32Array.from(data.train.x), { shape: [n, 1, SIDE, SIDE] });
    const yTrain = mz.tensor(Int32Array.from(data.train.y));
    const opt = new mz.optim.Adam(params, { lr: 0.01 });
    const losses: number[] = [];
    const batch = 20;
    for (let epoch = 0; epoch < 2; epoch++) {
      const order = mz.randperm(n, { generator: gen });
      for (let s = 0; s + batch <= n; s += batch) {
        losses.push(
          mz.scope(() => {
            const idx = order.narrow(0, s, batch);
            opt.zeroGrad();
            const loss = mz.crossEntropy(forward(mz.indexSelect(xTrain, 0, idx)), mz.indexSelect(yTrain, 0, idx));
            loss.backward();
            opt.step();
            return loss.item();
          }),
        );
      }
    }
    const m = data.test.y.length;
    const predicted = mz.noGrad(() => forward(mz.tensor(Float32Array.from(data.test.x), { shape: [m, 1, SIDE, SIDE] })).argmax(1));
    const hits = predicted.eq(mz.tensor(Int32Array.from(data.test.y))).sum().item();
    return { accuracy: hits / m, losses };
  });
}

describe('the core bench CNN on MNIST (subset) trains the same on gpujs-webasm as on reference', () => {
  it('reaches the same test accuracy from the same seed, with matching losses along the way', () => {
    const ref = trainAndTest('reference');
    const gpu = trainAndTest('gpujs-webasm');
    // learning happened (chance is 0.1), on both
    expect(ref.accuracy).toBeGreaterThan(0.35);
    expect(Math.abs(gpu.accuracy - ref.accuracy)).toBeLessThanOrEqual(0.03);
    expect(gpu.losses.length).toBe(ref.losses.length);
    expect(Math.abs(gpu.losses[0]! - ref.losses[0]!)).toBeLessThan(1e-4);
    const lastK = (l: number[]) => l.slice(-5).reduce((a, b) => a + b, 0) / 5;
    expect(Math.abs(lastK(gpu.losses) - lastK(ref.losses))).toBeLessThan(0.05);
    console.log(`CNN subset: test accuracy reference ${ref.accuracy.toFixed(3)}, gpujs-webasm ${gpu.accuracy.toFixed(3)}; loss ${ref.losses[0]!.toFixed(3)} -> ${lastK(ref.losses).toFixed(3)} (reference), ${gpu.losses[0]!.toFixed(3)} -> ${lastK(gpu.losses).toFixed(3)} (gpujs-webasm)`);
  });
});

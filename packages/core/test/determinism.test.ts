import { describe, expect, it } from 'vitest';
import * as mz from '../src/index.js';

/** A seeded conv-net training run: init, data, shuffling and dropout all draw from one generator. */
function train(seed: number): Float32Array[] {
  const g = new mz.Generator(seed);
  const w1 = mz.keep(mz.randn([8, 1, 3, 3], { generator: g }).mul(0.3)).requiresGrad_();
  const w2 = mz.keep(mz.randn([4, 8], { generator: g }).mul(0.3)).requiresGrad_();
  const x = mz.keep(mz.randn([32, 1, 8, 8], { generator: g }));
  const y = mz.keep(mz.randint(0, 4, [32], { generator: g }));
  for (let step = 0; step < 15; step++) {
    mz.scope(() => {
      const idx = mz.randperm(32, { generator: g }).slice(0, 0, 16);
      const xb = mz.indexSelect(x, 0, idx);
      const yb = mz.indexSelect(y, 0, idx);
      let h = mz.relu(mz.conv2d(xb, w1, null, { padding: 1 }));
      h = mz.dropout(mz.mean(h, [2, 3]), 0.2, { generator: g });
      mz.crossEntropy(mz.linear(h, w2), yb).backward();
      mz.noGrad(() => {
        for (const p of [w1, w2]) {
          p.assign(p.sub(p.grad!.mul(0.1)));
          p.grad = null;
        }
      });
    });
  }
  return [w1, w2].map((p) => p.dataSync() as Float32Array);
}

describe('determinism', () => {
  it('the same seed gives bit-identical parameters', () => {
    const a = train(123);
    const b = train(123);
    a.forEach((p, i) => expect(Buffer.from(p.buffer).equals(Buffer.from(b[i]!.buffer))).toBe(true));
  });
  it('a different seed gives different parameters', () => {
    expect(Array.from(train(123)[1]!)).not.toEqual(Array.from(train(124)[1]!));
  });
});

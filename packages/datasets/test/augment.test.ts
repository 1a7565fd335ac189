import { arange, Generator, memory, pad, scope, tensor } from '@methodzoo/core';
import { describe, expect, it } from 'vitest';
import { normalize, randomCrop, randomHorizontalFlip } from '../src/index.js';

// 5 samples, 2 channels, 4x6 images with distinct values
const x = arange(0, 5 * 2 * 4 * 6).reshape([5, 2, 4, 6]);

describe('randomCrop', () => {
  it('every output sample is an H x W window of the zero-padded sample, same window in every channel', () => {
    const p = 2;
    const out = randomCrop(x, { padding: p, generator: new Generator(1) });
    expect(out.shape).toEqual([5, 2, 4, 6]);
    const padded = pad(x, [p, p, p, p]).tolist() as number[][][][];
    const got = out.tolist() as number[][][][];
    const offsets = new Set<string>();
    for (let n = 0; n < 5; n++) {
      let found: [number, number] | null = null;
      for (let dy = 0; dy <= 2 * p && !found; dy++) {
        for (let dx = 0; dx <= 2 * p && !found; dx++) {
          const same = [0, 1].every((c) => got[n]![c]!.every((row, i) => row.every((v, j) => v === padded[n]![c]![i + dy]![j + dx])));
          if (same) found = [dy, dx];
        }
      }
      expect(found).not.toBeNull();
      offsets.add(String(found));
    }
    // offsets are drawn per sample, not once per batch
    expect(offsets.size).toBeGreaterThan(1);
  });

  it('is seeded: same seed same crops, different seed different crops', () => {
    const a = randomCrop(x, { padding: 2, generator: new Generator(7) }).tolist();
    const b = randomCrop(x, { padding: 2, generator: new Generator(7) }).tolist();
    const c = randomCrop(x, { padding: 2, generator: new Generator(8) }).tolist();
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('fills the border with `fill`, passes gradients, and leaks nothing', () => {
    const ones = tensor(new Float32Array(64).fill(1), { shape: [4, 1, 4, 4], requiresGrad: true });
    const out = randomCrop(ones, { padding: 3, fill: -1, generator: new Generator(3) });
    const vals = new Set(out.dataSync());
    expect([...vals].every((v) => v === 1 || v === -1)).toBe(true);
    out.sum().backward();
    // each input pixel lands in the crop at most once, and the crop keeps 16 of them per sample
    const g = ones.grad!.dataSync();
    expect([...new Set(g)].every((v) => v === 0 || v === 1)).toBe(true);
    expect(Array.from(g).reduce((s, v) => s + v, 0)).toBe(Array.from(out.dataSync()).filter((v) => v === 1).length);
    const before = memory().tensors;
    scope(() => void randomCrop(x, { padding: 1, generator: new Generator(0) }));
    expect(memory().tensors).toBe(before);
  });

  it('rejects a non-4-d input and a bad padding', () => {
    expect(() => randomCrop(arange(4), { generator: new Generator(0) })).toThrow('randomCrop: x must be [N, C, H, W], got shape [4]');
    expect(() => randomCrop(x, { padding: 1.5, generator: new Generator(0) })).toThrow('padding must be a non-negative integer, got 1.5');
  });
});

describe('randomHorizontalFlip', () => {
  it('mirrors exactly the chosen samples along W', () => {
    const out = randomHorizontalFlip(x, { generator: new Generator(2) }).tolist() as number[][][][];
    const src = x.tolist() as number[][][][];
    let flipped = 0;
    for (let n = 0; n < 5; n++) {
      const mirror = src[n]!.map((ch) => ch.map((row) => [...row].reverse()));
      if (JSON.stringify(out[n]) === JSON.stringify(mirror)) flipped++;
      else expect(out[n]).toEqual(src[n]);
    }
    expect(flipped).toBeGreaterThan(0);
    expect(flipped).toBeLessThan(5);
  });

  it('p = 0 and p = 1 are the identity and the full flip; the draw is seeded and about p', () => {
    expect(randomHorizontalFlip(x, { p: 0, generator: new Generator(0) }).tolist()).toEqual(x.tolist());
    const all = randomHorizontalFlip(x, { p: 1, generator: new Generator(0) });
    expect(all.tolist()).toEqual((x.tolist() as number[][][][]).map((s) => s.map((c) => c.map((r) => [...r].reverse()))));
    const big = arange(0, 2000 * 2).reshape([2000, 1, 1, 2]);
    const frac = (seed: number) => {
      const d = randomHorizontalFlip(big, { p: 0.3, generator: new Generator(seed) }).dataSync();
      let n = 0;
      for (let i = 0; i < 2000; i++) if (d[2 * i]! > d[2 * i + 1]!) n++;
      return n / 2000;
    };
    expect(frac(5)).toBeCloseTo(0.3, 1);
    expect(frac(5)).toBe(frac(5));
    expect(frac(5)).not.toBe(frac(6));
  });
});

describe('normalize', () => {
  it('subtracts and divides per channel', () => {
    const out = normalize(x, [1, 2], [2, 4]).tolist() as number[][][][];
    expect(out[0]![0]![0]![0]).toBe(-0.5);
    expect(out[0]![1]![0]![0]).toBe((24 - 2) / 4);
    expect(normalize(x, 0.5, 0.25).dataSync()[1]).toBe(2);
    expect(() => normalize(x, [1, 2, 3], 1)).toThrow('normalize: mean needs 1 or 2 (channel) values, got 3');
    expect(() => normalize(x, 0, 0)).toThrow('std must be positive');
  });
});

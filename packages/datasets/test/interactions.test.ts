import { Generator } from '@methodzoo/core';
import { describe, expect, it } from 'vitest';
import { generateInteractions, type InteractionSplit } from '../src/index.js';

const opts = { numUsers: 200, numItems: 300, latentDim: 8, minPerUser: 10, maxPerUser: 30, imageDim: 24, textDim: 12, seed: 11 };
const d = generateInteractions(opts);

const itemsOf = (s: InteractionSplit, u: number) => Array.from(s.items.subarray(s.offsets[u]!, s.offsets[u + 1]!));

function pearson(a: number[], b: number[]): number {
  const ma = a.reduce((s, v) => s + v, 0) / a.length;
  const mb = b.reduce((s, v) => s + v, 0) / b.length;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < a.length; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

describe('generateInteractions', () => {
  it('returns features, latents and CSR splits of the right shapes', () => {
    expect(d.imageFeatures.shape).toEqual([300, 24]);
    expect(d.textFeatures.shape).toEqual([300, 12]);
    expect(d.userLatents.shape).toEqual([200, 8]);
    expect(d.itemLatents.shape).toEqual([300, 8]);
    expect(d.itemBias.shape).toEqual([300]);
    for (const s of [d.train, d.valid, d.test]) {
      expect(s.offsets.length).toBe(201);
      expect(s.offsets[200]).toBe(s.items.length);
      expect(s.users.length).toBe(s.items.length);
      for (let u = 0; u < 200; u++) for (let j = s.offsets[u]!; j < s.offsets[u + 1]!; j++) expect(s.users[j]).toBe(u);
      expect(Math.min(...s.items)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...s.items)).toBeLessThan(300);
    }
  });

  it('every user has between minPerUser and maxPerUser items, split about 70/10/20 with none shared', () => {
    let total = 0;
    for (let u = 0; u < 200; u++) {
      const tr = itemsOf(d.train, u);
      const va = itemsOf(d.valid, u);
      const te = itemsOf(d.test, u);
      const all = [...tr, ...va, ...te];
      total += all.length;
      expect(all.length).toBeGreaterThanOrEqual(10);
      expect(all.length).toBeLessThanOrEqual(30);
      expect(new Set(all).size).toBe(all.length);
      expect(te.length).toBe(Math.max(1, Math.round(all.length * 0.2)));
      expect(va.length).toBe(Math.max(1, Math.round(all.length * 0.1)));
      const train = new Set(tr);
      expect(te.some((i) => train.has(i))).toBe(false);
      expect(va.some((i) => train.has(i))).toBe(false);
    }
    expect(d.density).toBe(total / (200 * 300));
    // uniform n_u in [10, 30] has mean 20: density about 20 / 300
    expect(d.density).toBeGreaterThan(0.06);
    expect(d.density).toBeLessThan(0.073);
    expect(d.train.items.length / total).toBeCloseTo(0.7, 1);
  });

  it('is seeded: same seed same data, different seed different data', () => {
    const again = generateInteractions({ ...opts, seed: undefined, generator: new Generator(11) });
    expect(Array.from(again.train.items)).toEqual(Array.from(d.train.items));
    expect(Array.from(again.imageFeatures.dataSync())).toEqual(Array.from(d.imageFeatures.dataSync()));
    const other = generateInteractions({ ...opts, seed: 12 });
    expect(Array.from(other.train.items)).not.toEqual(Array.from(d.train.items));
  });

  it('users pick items they prefer, and popular items more often', () => {
    const gap = (data: typeof d) => {
      const P = data.userLatents.tolist() as number[][];
      const Q = data.itemLatents.tolist() as number[][];
      const b = Array.from(data.itemBias.dataSync());
      const score = (u: number, i: number) => P[u]!.reduce((s, v, c) => s + v * Q[i]![c]!, b[i]!);
      let chosen = 0;
      let n = 0;
      let all = 0;
      for (let u = 0; u < 200; u++) {
        for (const i of itemsOf(data.train, u)) (chosen += score(u, i)), n++;
        for (let i = 0; i < 300; i++) all += score(u, i);
      }
      return chosen / n - all / (200 * 300);
    };
    // chosen items score well above the average item, more so at a lower temperature
    const g05 = gap(d);
    expect(g05).toBeGreaterThan(0.5);
    expect(gap(generateInteractions({ ...opts, temperature: 2 }))).toBeLessThan(g05 / 2);
    const b = Array.from(d.itemBias.dataSync());
    const counts = new Array(300).fill(0);
    for (const i of d.train.items) counts[i]++;
    expect(pearson(counts, b)).toBeGreaterThan(0.5);
  });

  it('at a temperature near 0 every user takes exactly its top-scoring items', () => {
    const cold = generateInteractions({ ...opts, numUsers: 50, temperature: 1e-9 });
    const P = cold.userLatents.tolist() as number[][];
    const Q = cold.itemLatents.tolist() as number[][];
    const b = Array.from(cold.itemBias.dataSync());
    for (let u = 0; u < 50; u++) {
      const mine = [...itemsOf(cold.train, u), ...itemsOf(cold.valid, u), ...itemsOf(cold.test, u)].sort((x, y) => x - y);
      const scores = Q.map((q, i) => q.reduce((s, v, c) => s + v * P[u]![c]!, b[i]!));
      const best = scores.map((_, i) => i).sort((x, y) => scores[y]! - scores[x]!).slice(0, mine.length).sort((x, y) => x - y);
      expect(mine).toEqual(best);
    }
  });

  it('image and text features are noisy projections of the item latents', () => {
    const Q = d.itemLatents.tolist() as number[][];
    const img = d.imageFeatures.tolist() as number[][];
    const txt = d.textFeatures.tolist() as number[][];
    const dot = (a: number[], c: number[]) => a.reduce((s, v, k) => s + v * c[k]!, 0);
    const latentSim: number[] = [];
    const imageSim: number[] = [];
    const textSim: number[] = [];
    for (let i = 0; i < 60; i++) {
      for (let j = i + 1; j < 60; j++) {
        latentSim.push(dot(Q[i]!, Q[j]!));
        imageSim.push(dot(img[i]!, img[j]!));
        textSim.push(dot(txt[i]!, txt[j]!));
      }
    }
    const rImage = pearson(latentSim, imageSim);
    const rText = pearson(latentSim, textSim);
    expect(rImage).toBeGreaterThan(0.6);
    expect(rText).toBeGreaterThan(0.3);
    // the noisier text view carries less of the latent structure (imageNoise 0.1 < textNoise 0.3)
    const noiseless = generateInteractions({ ...opts, imageNoise: 0, textNoise: 0 });
    expect(noiseless.imageFeatures.dataSync()[0]).not.toBe(d.imageFeatures.dataSync()[0]);
    const noisy = generateInteractions({ ...opts, textNoise: 2 });
    const tn = noisy.textFeatures.tolist() as number[][];
    const noisySim: number[] = [];
    for (let i = 0; i < 60; i++) for (let j = i + 1; j < 60; j++) noisySim.push(dot(tn[i]!, tn[j]!));
    expect(pearson(latentSim, noisySim)).toBeLessThan(rText);
  });

  it('validates its options', () => {
    expect(() => generateInteractions({ numUsers: 0, numItems: 5 })).toThrow('generateInteractions: numUsers must be a positive integer, got 0');
    expect(() => generateInteractions({ numUsers: 5, numItems: 5, minPerUser: 8 })).toThrow('minPerUser (8) exceeds maxPerUser (5, capped at numItems = 5)');
    expect(() => generateInteractions({ numUsers: 5, numItems: 50, minPerUser: 2 })).toThrow('minPerUser must be at least 3');
    expect(() => generateInteractions({ numUsers: 5, numItems: 50, testFraction: 0.6, validFraction: 0.4 })).toThrow('sum below 1');
    const noValid = generateInteractions({ numUsers: 5, numItems: 50, minPerUser: 2, maxPerUser: 4, validFraction: 0 });
    expect(noValid.valid.items.length).toBe(0);
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Generator, noGrad, optim, randn, tensor, type Tensor } from '@methodzoo/core';
import { generateInteractions } from '@methodzoo/datasets';
import {
  aggregateMetrics, BprMf, bprLoss, concatFeatures, embNormLoss, evaluateRanking, gaussianFeatureNoise, gradientNorm, informationAdjustment, LightGcn, loadMmrec,
  mirrorGradient, parseInter, parseNpy, sampleBprBatches, sharpnessProxy, topKIndices, userMetrics, Vbpr,
} from '../src/index.js';

const set = (t: Tensor, v: number[][]) => noGrad(() => t.assign(tensor(v)));

describe('ranking metrics (MMRec definitions)', () => {
  it('match hand-computed values on one ranking', () => {
    const ranked = [3, 1, 4, 0, 2];
    const truth = new Set([1, 2]);
    const m3 = userMetrics(ranked, truth, 3);
    expect(m3.recall).toBe(0.5);
    expect(m3.precision).toBeCloseTo(1 / 3, 12);
    expect(m3.ndcg).toBeCloseTo(1 / Math.log2(3) / (1 + 1 / Math.log2(3)), 12); // 0.386853
    expect(m3.map).toBeCloseTo(0.25, 12); // (1/2) / min(2, 3)
    const m5 = userMetrics(ranked, truth, 5);
    expect(m5.recall).toBe(1);
    expect(m5.precision).toBeCloseTo(0.4, 12);
    expect(m5.ndcg).toBeCloseTo(0.62405, 5);
    expect(m5.map).toBeCloseTo(0.45, 12); // (1/2 + 2/5) / 2
    // IDCG over min(|truth|, K): one relevant item at rank 1 is a perfect list at any K
    expect(userMetrics([7, 1], new Set([7]), 2)).toEqual({ recall: 1, ndcg: 1, precision: 0.5, map: 1 });
  });

  it('topKIndices keeps the largest scores, ties to the lower index, and skips masked items', () => {
    expect(topKIndices([1, 3, 3, 2], 2)).toEqual([1, 2]);
    expect(topKIndices([5, -Infinity, 4, 6], 3)).toEqual([3, 0, 2]);
    expect(topKIndices([0.5, 0.1], 5)).toEqual([0, 1]);
  });

  it('full ranking masks training items only and skips users without held-out items', () => {
    const model = new BprMf(3, 4, { dim: 1, generator: new Generator(0) });
    set(model.userEmb, [[1], [-1], [2]]);
    set(model.itemEmb, [[4], [3], [2], [1]]);
    const train = { users: Int32Array.from([0, 1]), items: Int32Array.from([0, 3]), offsets: Int32Array.from([0, 1, 2, 2]) };
    const test = { users: Int32Array.from([0, 1]), items: Int32Array.from([2, 0]), offsets: Int32Array.from([0, 1, 2, 2]) };
    // user 0 ranks [1, 2, 3] (item 0 masked): test item 2 at rank 2; user 1 ranks [2, 1, 0]: item 0 at rank 3
    const m = evaluateRanking(model, train, test, { ks: [1, 2, 3] });
    expect(m[1]!.recall).toBe(0);
    expect(m[2]!.recall).toBe(0.5);
    expect(m[2]!.ndcg).toBeCloseTo(0.5 / Math.log2(3), 6);
    expect(m[3]!.recall).toBe(1);
    expect(m[3]!.map).toBeCloseTo((1 / 2 + 1 / 3) / 2, 6);
    expect(aggregateMetrics(new Map([[0, [2]]]), test, [1])[1]!.precision).toBe(1);
  });
});

describe('recommenders', () => {
  it('BPR loss and the norm regulariser have MMRec values', () => {
    expect(bprLoss(tensor([2]), tensor([0])).item()).toBeCloseTo(-Math.log(1e-10 + 1 / (1 + Math.exp(-2))), 6);
    expect(embNormLoss(2, tensor([[3, 4]]), tensor([[0, 1]])).item()).toBeCloseTo(3, 6); // (5 + 1) / 2
  });

  it('VBPR scores [gamma_u; theta_u] . [gamma_i; W f_i + b] and follows its features', () => {
    const feats = tensor([[1, 0], [0, 1], [1, 1]]);
    const m = new Vbpr(1, feats, { dim: 1, generator: new Generator(0) });
    set(m.userEmb, [[2, 3]]);
    set(m.itemEmb, [[1], [0], [-1]]);
    set(m.proj.weight, [[0.5, -1]]);
    noGrad(() => m.proj.bias!.assign(tensor([0.25])));
    const s = m.call(tensor([0, 0, 0], { dtype: 'int32' }), tensor([0, 1, 2], { dtype: 'int32' })).tolist() as number[];
    expect(s).toEqual([2 + 3 * 0.75, 3 * -0.75, -2 + 3 * -0.25]);
    m.setFeatures(tensor([[0, 0], [0, 0], [0, 0]]));
    expect(m.call(tensor([0], { dtype: 'int32' }), tensor([1], { dtype: 'int32' })).tolist()).toEqual([0.75]);
    expect(() => m.setFeatures(tensor([[0, 0]]))).toThrow(/features must be \[3, 2\]/);
  });

  it('LightGCN propagates over D_u^-1/2 R D_i^-1/2 and averages the layers', () => {
    const train = { users: Int32Array.from([0, 0, 1]), items: Int32Array.from([0, 1, 1]), offsets: Int32Array.from([0, 2, 3]) };
    const m = new LightGcn(2, 2, train, { dim: 1, layers: 1, generator: new Generator(0) });
    set(m.userEmb, [[1], [2]]);
    set(m.itemEmb, [[3], [4]]);
    const { users, items } = m.embeddings();
    // A = [[1/sqrt(2), 1/2], [0, 1/sqrt(2)]]
    const r2 = Math.SQRT1_2;
    expect((users.tolist() as number[][]).map((r) => r[0])).toEqual([(1 + 3 * r2 + 2) / 2, (2 + 4 * r2) / 2].map((v) => expect.closeTo(v, 5)));
    expect((items.tolist() as number[][]).map((r) => r[0])).toEqual([(3 + r2) / 2, (4 + 0.5 + 2 * r2) / 2].map((v) => expect.closeTo(v, 5)));
  });

  it('VBPR and LightGCN with MG learn the synthetic data far above chance', () => {
    const d = generateInteractions({ numUsers: 60, numItems: 80, latentDim: 4, imageDim: 8, textDim: 8, temperature: 0.3, seed: 3 });
    const feats = concatFeatures(d.imageFeatures, d.textFeatures);
    for (const model of [new Vbpr(60, feats, { dim: 8, generator: new Generator(1) }), new LightGcn(60, 80, d.train, { dim: 8, features: feats, generator: new Generator(1) })]) {
      const w = mirrorGradient(new optim.Adam(model.parameters(), { lr: 0.02 }), { alpha2: 0.2 });
      const g = new Generator(2);
      for (let e = 0; e < 8; e++) {
        w.startEpoch();
        for (const b of sampleBprBatches(d.train, 80, 256, g)) w.step(() => model.loss(b));
      }
      // chance Recall@10 is about 10 / (80 - train items) ~ 0.15
      expect(evaluateRanking(model, d.train, d.test, { ks: [10] })[10]!.recall).toBeGreaterThan(0.3);
    }
  });
});

/** A .npy file: header dict padded to a 64-byte boundary, then the raw values. */
function npy(descr: string, shape: number[], raw: ArrayBufferView, fortran = false, version = 1): Uint8Array {
  const dict = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pre = version === 1 ? 10 : 12;
  const total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  const header = dict + ' '.repeat(total - pre - dict.length - 1) + '\n';
  const out = new Uint8Array(total + raw.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const dv = new DataView(out.buffer);
  if (version === 1) dv.setUint16(8, header.length, true);
  else dv.setUint32(8, header.length, true);
  out.set(new TextEncoder().encode(header), pre);
  out.set(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength), total);
  return out;
}

describe('.npy reader and MMRec loader', () => {
  it('reads float32, int64, big-endian float64, Fortran order and version 2', () => {
    const f4 = parseNpy(npy('<f4', [2, 3], Float32Array.from([1, 2, 3, 4, 5, 6.5])));
    expect(f4.shape).toEqual([2, 3]);
    expect(Array.from(f4.data)).toEqual([1, 2, 3, 4, 5, 6.5]);
    expect(Array.from(parseNpy(npy('<i8', [3], BigInt64Array.from([-1n, 0n, 7n]))).data)).toEqual([-1, 0, 7]);
    const be = new DataView(new ArrayBuffer(16));
    be.setFloat64(0, 0.1, false);
    be.setFloat64(8, -2, false);
    expect(Array.from(parseNpy(npy('>f8', [2], be)).data)).toEqual([0.1, -2]);
    // Fortran order stores columns first: [[1, 2, 3], [4, 5, 6]] is 1 4 2 5 3 6
    expect(Array.from(parseNpy(npy('<f4', [2, 3], Float32Array.from([1, 4, 2, 5, 3, 6]), true)).data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(parseNpy(npy('<f4', [1, 1], Float32Array.from([9]), false, 2)).data[0]).toBe(9);
    expect(parseNpy(npy('<f2', [1], Uint16Array.from([0x3c00]))).data[0]).toBe(1);
    expect(() => parseNpy(new Uint8Array(20))).toThrow(/not a .npy file/);
    expect(() => parseNpy(npy('<c8', [1], Float32Array.from([0, 0])))).toThrow(/unsupported dtype '<c8'/);
    expect(() => parseNpy(npy('<f4', [4], Float32Array.from([1, 2])))).toThrow(/truncated/);
  });

  it('loads an MMRec folder: .inter splits by x_label and the feature files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mmrec-'));
    writeFileSync(join(dir, 'toy.inter'), 'userID\titemID\trating\ttimestamp\tx_label\n0\t2\t5\t100\t0\n0\t0\t4\t101\t0\n0\t1\t5\t102\t2\n1\t1\t3\t103\t0\n1\t3\t5\t104\t1\n');
    writeFileSync(join(dir, 'image_feat.npy'), npy('<f4', [4, 2], Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8])));
    writeFileSync(join(dir, 'text_feat.npy'), npy('<f8', [4, 1], Float64Array.from([0.5, 1.5, 2.5, 3.5])));
    const d = loadMmrec(dir, 'toy');
    expect([d.numUsers, d.numItems]).toEqual([2, 4]);
    expect(Array.from(d.train.items)).toEqual([0, 2, 1]);
    expect(Array.from(d.train.offsets)).toEqual([0, 2, 3]);
    expect(Array.from(d.valid.items)).toEqual([3]);
    expect(Array.from(d.test.users)).toEqual([0]);
    expect(d.imageFeatures!.tolist()).toEqual([[1, 2], [3, 4], [5, 6], [7, 8]]);
    expect(d.textFeatures!.dtype).toBe('float32');
    expect(() => parseInter('userID\titemID\n0\t1\n')).toThrow(/no 'x_label' column/);
    expect(() => parseInter('userID\titemID\tx_label\n0\t1\t3\n')).toThrow(/x_label must be 0, 1 or 2/);
    expect(() => loadMmrec(dir, 'missing')).toThrow(/does not exist/);
  });
});

describe('robustness tools', () => {
  it('Gaussian feature noise has per-column std sigma x std(column)', () => {
    const g = new Generator(0);
    const x = randn([4000, 2], { generator: g }).mul(tensor([1, 5]));
    const noisy = gaussianFeatureNoise(x, 0.5, g);
    const sd = noisy.sub(x).std(0).tolist() as number[];
    expect(sd[0]).toBeCloseTo(0.5, 1);
    expect(sd[1]! / 2.5).toBeCloseTo(1, 1);
    expect(gaussianFeatureNoise(x, 0, g).tolist()).toEqual(x.tolist());
  });

  it('information adjustment mixes exactly the given fraction of rows with another row', () => {
    const x = tensor(Array.from({ length: 10 }, (_, i) => [i, 10 * i]));
    const y = informationAdjustment(x, 0.3, new Generator(1), 0.7).tolist() as number[][];
    const changed = y.map((r, i) => (r[0] !== i ? i : -1)).filter((i) => i >= 0);
    expect(changed).toHaveLength(3);
    for (const i of changed) {
      const j = (y[i]![0]! - 0.3 * i) / 0.7; // x_i <- 0.3 x_i + 0.7 x_j
      expect(Math.abs(j - Math.round(j))).toBeLessThan(1e-4);
      expect(Math.round(j)).not.toBe(i);
      expect(y[i]![1]).toBeCloseTo(10 * (0.3 * i + 0.7 * Math.round(j)), 3);
    }
  });

  it('gradient norm and sharpness proxy on a quadratic; parameters are restored', () => {
    const theta = tensor([1, 2], { requiresGrad: true });
    const loss = () => theta.mul(tensor([3, 1])).mul(theta).sum().mul(0.5); // grad = [3, 2]
    expect(gradientNorm([theta], loss)).toBeCloseTo(Math.sqrt(13), 5);
    // at the minimum of L = 1/2 sum a_i (theta_i - c_i)^2 the proxy is E[1/2 sum a_i d_i^2] = 1/2 (3 + 1) (0.1 rms)^2, rms^2 = 2.5
    const atMin = () => theta.sub(tensor([1, 2])).square().mul(tensor([3, 1])).sum().mul(0.5);
    const sharp = sharpnessProxy([theta], atMin, { rho: 0.1, draws: 50, generator: new Generator(4) });
    expect(sharp).toBeGreaterThan(0);
    expect(sharp).toBeCloseTo(0.05, 1);
    expect(sharpnessProxy([theta], atMin, { rho: 0, draws: 2, generator: new Generator(4) })).toBe(0);
    expect(theta.tolist()).toEqual([1, 2]);
  });
});

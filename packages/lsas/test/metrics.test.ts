import { describe, expect, it } from 'vitest';
import { nn, tensor, type Tensor } from '@methodzoo/core';
import { attentionBias, biasRates, clutteredMnist, gradCam, type Box } from '../src/index.js';

const arr = (t: Tensor) => Array.from(t.dataSync());

describe('gradCam', () => {
  // conv 1x1 (1 -> 2 channels: A0 = 2x, A1 = 1 - x), global average pool, linear 2 -> 2.
  function handModel() {
    const conv = new nn.Conv2d(1, 2, 1);
    conv.weight.assign(tensor([2, -1], { shape: [2, 1, 1, 1] }));
    conv.bias!.assign(tensor([0, 1]));
    const fc = new nn.Linear(2, 2);
    fc.weight.assign(tensor([[1, 0.5], [-1, 2]]));
    fc.bias!.assign(tensor([0.3, -0.2]));
    return { conv, model: new nn.Sequential(conv, new nn.AdaptiveAvgPool2d(1), new nn.Flatten(), fc) };
  }

  it('equals the hand-computed map: ReLU(sum_k (W[c,k] / hw) A_k), min-max normalised', () => {
    const { conv, model } = handModel();
    const xs = [-2, -1, 0, 0.5, 1, 1.5, 2, 3, -0.5];
    const x = tensor(xs, { shape: [1, 1, 3, 3] });
    const W = [[1, 0.5], [-1, 2]];
    for (const c of [0, 1]) {
      const raw = xs.map((v) => Math.max(0, (W[c]![0]! * 2 * v + W[c]![1]! * (1 - v)) / 9));
      const lo = Math.min(...raw);
      const hi = Math.max(...raw);
      const want = raw.map((v) => (v - lo) / (hi - lo));
      const cam = gradCam(model, conv, x, c);
      expect(cam.shape).toEqual([1, 3, 3]);
      arr(cam).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 6));
    }
    // The parameters' .grad are not touched (the core's grad(), not backward()).
    expect(conv.weight.grad).toBeNull();
  });

  it('takes one class per sample and upsamples to the input size', () => {
    const { conv, model } = handModel();
    const x = tensor([-1, 2, 0, 1, 3, -2, 1, 0], { shape: [2, 1, 2, 2] });
    const both = arr(gradCam(model, conv, x, [0, 1]));
    const first = arr(gradCam(model, conv, x.slice(0, 0, 1), 0));
    const second = arr(gradCam(model, conv, x.slice(0, 1, 2), 1));
    expect(both).toEqual([...first, ...second]);
    const big = gradCam(model, conv, x, 0, { size: [4, 4] });
    expect(big.shape).toEqual([2, 4, 4]);
    for (const v of arr(big)) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
    expect(() => gradCam(model, conv, x, [0])).toThrow(/one entry per sample/);
    expect(() => gradCam(model, conv, x, 5)).toThrow(/classIndex/);
  });
});

describe('attentionBias', () => {
  const box: Box = { x: 1, y: 1, width: 3, height: 3 };
  const map = (hot: [number, number][], v = 1) => {
    const data = new Float32Array(36);
    for (const [r, c] of hot) data[r * 6 + c] = v;
    return { data, height: 6, width: 6 };
  };

  it('fully outside: position bias', () => {
    const b = attentionBias(map([[0, 5], [5, 5], [5, 0]]), box);
    expect(b).toEqual({ positionBias: true, rangeBias: false, iof: 0, focusArea: 3, overlapArea: 0 });
  });

  it('partly outside: range bias with the overlap fraction', () => {
    const b = attentionBias(map([[1, 1], [2, 2], [3, 3], [4, 4]]), box);
    expect(b).toEqual({ positionBias: false, rangeBias: true, iof: 0.75, focusArea: 4, overlapArea: 3 });
    // With eps = 0.3 a quarter outside is tolerated.
    expect(attentionBias(map([[1, 1], [2, 2], [3, 3], [4, 4]]), box, { eps: 0.3 }).rangeBias).toBe(false);
    // Soft position bias: iof 0.75 < 0.8.
    expect(attentionBias(map([[1, 1], [2, 2], [3, 3], [4, 4]]), box, { positionEps: 0.8 }).positionBias).toBe(true);
  });

  it('inside: neither bias; the threshold selects the focus', () => {
    expect(attentionBias(map([[1, 1], [3, 3], [2, 1]]), box)).toEqual({ positionBias: false, rangeBias: false, iof: 1, focusArea: 3, overlapArea: 3 });
    // Focus values 0.4 fall below the default threshold 0.5: empty focus counts as position bias.
    expect(attentionBias(map([[2, 2]], 0.4), box).positionBias).toBe(true);
    expect(attentionBias(map([[2, 2]], 0.4), box, { threshold: 0.3 }).positionBias).toBe(false);
  });

  it('aggregates rates over a batch, optionally over a subset', () => {
    const maps = [map([[0, 5]]), map([[1, 1], [4, 4]]), map([[2, 2]]), map([[3, 3]])];
    const all = new Float32Array(4 * 36);
    maps.forEach((m, i) => all.set(m.data, i * 36));
    const cams = tensor(all, { shape: [4, 6, 6] });
    const r = biasRates(cams, [box, box, box, box]);
    expect(r.count).toBe(4);
    expect(r.positionBiasRate).toBe(0.25);
    expect(r.rangeBiasRate).toBe(0.25);
    expect(r.insideRate).toBe(0.5);
    expect(r.meanIof).toBeCloseTo((0 + 0.5 + 1 + 1) / 4, 12);
    const sub = biasRates(cams, [box, box, box, box], { include: [true, true, false, false] });
    expect([sub.count, sub.positionBiasRate, sub.rangeBiasRate]).toEqual([2, 0.5, 0.5]);
    expect(attentionBias(cams.slice(0, 1, 2), box).iof).toBe(0.5);
  });
});

describe('clutteredMnist', () => {
  // Ten 12x12 "digits": digit d is a filled rectangle of (d + 3) x 10 pixels at value 0.5 + d / 20.
  const M = 10, H = 12;
  const px = new Float32Array(M * H * H);
  for (let d = 0; d < M; d++) for (let r = 2; r < 2 + d + 3 && r < H; r++) for (let c = 1; c < 11; c++) px[d * H * H + r * H + c] = 0.5 + d / 20;
  const source = { x: tensor(px, { shape: [M, 1, H, H] }), y: tensor(Array.from({ length: M }, (_, i) => i), { dtype: 'int32' }) };

  it('is deterministic for a seed and differs across seeds', () => {
    const a = clutteredMnist(source, { count: 6, canvasSize: 30, cropSize: 4, seed: 1 });
    const b = clutteredMnist(source, { count: 6, canvasSize: 30, cropSize: 4, seed: 1 });
    const c = clutteredMnist(source, { count: 6, canvasSize: 30, cropSize: 4, seed: 2 });
    expect(arr(a.x)).toEqual(arr(b.x));
    expect(a.boxes).toEqual(b.boxes);
    expect(arr(a.x)).not.toEqual(arr(c.x));
    expect(a.x.shape).toEqual([6, 1, 30, 30]);
  });

  it('records the tight box of the target digit, with the clutter outside it', () => {
    const set = clutteredMnist(source, { count: 20, canvasSize: 30, cropSize: 4, distractors: [2, 4], seed: 3 });
    const canv = set.x.dataSync();
    const ys = set.y.dataSync();
    let totalOutside = 0;
    set.boxes.forEach((box, i) => {
      const d = set.sourceIndex[i]!;
      expect(ys[i]).toBe(d);
      // The rectangle digit d is (d + 3) rows by 10 columns, clipped to 12 rows.
      expect([box.width, box.height]).toEqual([10, Math.min(d + 3, H - 2)]);
      let inside = 0;
      let outside = 0;
      for (let r = 0; r < 30; r++) {
        for (let c = 0; c < 30; c++) {
          const v = canv[i * 900 + r * 30 + c]!;
          const inBox = r >= box.y && r < box.y + box.height && c >= box.x && c < box.x + box.width;
          if (inBox) {
            expect(v).toBeCloseTo(0.5 + d / 20, 6);
            inside++;
          } else if (v > 0) outside++;
        }
      }
      expect(inside).toBe(box.width * box.height);
      // Distractors are crops of other digits; each that was placed adds ink outside the box.
      expect(set.distractorCounts[i]).toBeGreaterThanOrEqual(0);
      expect(set.distractorCounts[i]).toBeLessThanOrEqual(4);
      totalOutside += outside;
    });
    // Crops can miss a digit's ink, but across 20 canvases the clutter shows.
    expect(totalOutside).toBeGreaterThan(20);
    expect(Array.from(set.distractorCounts).reduce((a, b) => a + b, 0)).toBeGreaterThan(20);
  });

  it('rejects bad sizes', () => {
    expect(() => clutteredMnist(source, { count: 1, canvasSize: 10 })).toThrow(/canvasSize/);
    expect(() => clutteredMnist(source, { count: 1, cropSize: 20 })).toThrow(/cropSize/);
  });
});

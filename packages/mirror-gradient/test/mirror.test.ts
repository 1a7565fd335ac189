import { describe, expect, it } from 'vitest';
import { Generator, matmul, memory, optim, randn, tensor, type Tensor } from '@methodzoo/core';
import { mirrorGradient, Vbpr, sampleBprBatches, trainSets } from '../src/index.js';

// L(theta) = 1/2 theta^T A theta with a fixed SPD A (float64 reference below).
const A = [
  [3, 1, 0.5],
  [1, 2, 0.25],
  [0.5, 0.25, 1.5],
];
const At = tensor(A);
const quad = (theta: Tensor) => matmul(At, theta.reshape([3, 1])).reshape([3]).mul(theta).sum().mul(0.5);
const mv = (v: number[]) => A.map((row) => row.reduce((s, a, j) => s + a * v[j]!, 0));

/** A small least-squares problem whose per-batch loss depends on the batch index. */
function problem(seed: number) {
  const g = new Generator(seed);
  const w = randn([4, 2], { generator: g, requiresGrad: true });
  const b = randn([2], { generator: g, requiresGrad: true });
  const xs = Array.from({ length: 7 }, () => randn([5, 4], { generator: g }));
  const ys = Array.from({ length: 7 }, () => randn([5, 2], { generator: g }));
  const loss = (i: number) => matmul(xs[i]!, w).add(b).sub(ys[i]!).square().mean();
  return { params: [w, b], loss };
}

const values = (ps: Tensor[]) => ps.map((p) => Array.from(p.dataSync() as Float32Array));

describe('mirrorGradient: equivalences with the base optimiser', () => {
  it('plain SGD with alpha1 = 1, alpha2 = 0 equals plain SGD bit for bit (both counters, with scheduler and clipping)', () => {
    for (const counter of ['epoch', 'global'] as const) {
      const plain = problem(1);
      const opt = new optim.SGD(plain.params, { lr: 0.1 });
      const sched = new optim.lrScheduler.StepLR(opt, { stepSize: 1, gamma: 0.5 });
      const mg = problem(1);
      const base = new optim.SGD(mg.params, { lr: 0.1 });
      const mgSched = new optim.lrScheduler.StepLR(base, { stepSize: 1, gamma: 0.5 });
      const w = mirrorGradient(base, { alpha1: 1, alpha2: 0, beta: 2, counter, beforeStep: () => optim.clipGradNorm(mg.params, 0.5) });
      let mirrors = 0;
      w.onMirror = () => mirrors++;
      for (let epoch = 0; epoch < 2; epoch++) {
        w.startEpoch();
        for (let i = 0; i < 7; i++) {
          opt.zeroGrad();
          plain.loss(i).backward();
          optim.clipGradNorm(plain.params, 0.5);
          opt.step();
          w.step(() => mg.loss(i));
        }
        sched.step();
        mgSched.step();
      }
      expect(mirrors).toBe(counter === 'epoch' ? 8 : 7);
      expect(values(mg.params)).toEqual(values(plain.params));
      expect(base.paramGroups[0]!.lr).toBe(0.025);
    }
  });

  it('disabled (the --not_mg switch) is bit-identical to the base Adam, AdamW and SGD', () => {
    const make = [(p: Tensor[]) => new optim.Adam(p, { lr: 0.01 }), (p: Tensor[]) => new optim.AdamW(p, { lr: 0.01, weightDecay: 0.1 }), (p: Tensor[]) => new optim.SGD(p, { lr: 0.05 })];
    for (const mk of make) {
      const plain = problem(2);
      const opt = mk(plain.params);
      const mg = problem(2);
      const w = mirrorGradient(mk(mg.params), { alpha2: 0.3, beta: 1, enabled: false });
      for (let i = 0; i < 6; i++) {
        opt.zeroGrad();
        plain.loss(i).backward();
        opt.step();
        w.step(() => mg.loss(i));
      }
      expect(values(mg.params)).toEqual(values(plain.params));
      expect(w.baseSteps).toBe(6);
    }
  });

  it('Adam with alpha2 = 0 is not plain Adam under official semantics (an extra zero-gradient step)', () => {
    const plain = problem(3);
    const opt = new optim.Adam(plain.params, { lr: 0.01 });
    const mg = problem(3);
    const base = new optim.Adam(mg.params, { lr: 0.01 });
    const w = mirrorGradient(base, { alpha1: 1, alpha2: 0, beta: 3 });
    for (let i = 0; i < 3; i++) {
      opt.zeroGrad();
      plain.loss(i).backward();
      opt.step();
      w.step(() => mg.loss(i));
    }
    // batch 0 mirrored: Adam's step count advanced twice, and its momentum moved theta on the zero gradient
    expect(base.state.get(mg.params[0]!)!.step).toBe(4);
    expect(opt.state.get(plain.params[0]!)!.step).toBe(3);
    const d = values(mg.params)[0]!.map((v, j) => Math.abs(v - values(plain.params)[0]![j]!));
    expect(Math.max(...d)).toBeGreaterThan(1e-4);
  });

  it('keeps the live tensor count flat over training steps (mirror and normal)', () => {
    const p = problem(6);
    const w = mirrorGradient(new optim.Adam(p.params, { lr: 0.01 }), { beta: 2 });
    w.step(() => p.loss(0));
    w.step(() => p.loss(1));
    const before = memory().tensors;
    for (let i = 2; i < 7; i++) w.step(() => p.loss(i)).dispose();
    expect(memory().tensors).toBe(before);
  });

  it('with SGD momentum, alpha2 = 0 is not plain SGD (the zero-gradient step still applies momentum)', () => {
    const plain = problem(7);
    const opt = new optim.SGD(plain.params, { lr: 0.1, momentum: 0.9 });
    const mg = problem(7);
    const w = mirrorGradient(new optim.SGD(mg.params, { lr: 0.1, momentum: 0.9 }), { alpha2: 0, beta: 3 });
    for (let i = 0; i < 2; i++) {
      opt.zeroGrad();
      plain.loss(i).backward();
      opt.step();
      w.step(() => mg.loss(i));
    }
    expect(values(mg.params)).not.toEqual(values(plain.params));
  });
});

describe('mirrorGradient: the mirror pair with SGD', () => {
  it('equals the closed form theta - (a1 - a2) lr A theta - a1 a2 lr^2 A^2 theta on a quadratic', () => {
    const theta0 = [1, -2, 0.5];
    const lr = 0.05;
    const [a1, a2] = [1.2, 0.3];
    const theta = tensor(theta0, { requiresGrad: true });
    const w = mirrorGradient(new optim.SGD([theta], { lr }), { alpha1: a1, alpha2: a2, beta: 1 });
    w.step(() => quad(theta));
    const g = mv(theta0);
    const hg = mv(g);
    const expected = theta0.map((t, i) => t - (a1 - a2) * lr * g[i]! - a1 * a2 * lr * lr * hg[i]!);
    const got = Array.from(theta.dataSync() as Float32Array);
    got.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
    // the same as a gradient step of size (a1 - a2) lr on L + lambda |grad L|^2, lambda = a1 a2 lr / (2 (a1 - a2))
    const lambda = (a1 * a2 * lr) / (2 * (a1 - a2));
    const penalised = theta0.map((t, i) => t - (a1 - a2) * lr * (g[i]! + 2 * lambda * hg[i]!));
    got.forEach((v, i) => expect(v).toBeCloseTo(penalised[i]!, 6));
  });

  it("the second step ascends: theta'' - theta' = +alpha2 lr grad L(theta')", () => {
    const theta = tensor([0.3, 1, -1], { requiresGrad: true });
    const lr = 0.1;
    let mid: number[] = [];
    let midGrad: number[] = [];
    const w = mirrorGradient(new optim.SGD([theta], { lr }), {
      alpha2: 0.25,
      beta: 1,
      beforeStep: (phase) => {
        if (phase !== 'mirror') return;
        mid = Array.from(theta.dataSync() as Float32Array);
        midGrad = Array.from(theta.grad!.dataSync() as Float32Array);
      },
    });
    w.step(() => quad(theta));
    const gradAtMid = mv(mid);
    // the gradient handed to the base optimiser is the negated, scaled gradient at theta'
    midGrad.forEach((v, i) => expect(v).toBeCloseTo(-0.25 * gradAtMid[i]!, 5));
    const after = Array.from(theta.dataSync() as Float32Array);
    after.forEach((v, i) => expect(v - mid[i]!).toBeCloseTo(0.25 * lr * gradAtMid[i]!, 6));
    // and it goes uphill: the loss at theta'' exceeds the loss at theta'
    expect(quad(theta).item()).toBeGreaterThan(quad(tensor(mid)).item());
  });

  it('the closure sees the same batch twice on a mirror iteration and once otherwise; onMirror reports both losses', () => {
    const data = { numUsers: 3, train: { users: Int32Array.from([0, 0, 1, 2, 2]), items: Int32Array.from([0, 1, 2, 3, 4]), offsets: Int32Array.from([0, 2, 3, 5]) } };
    const g = new Generator(0);
    const feats = randn([6, 4], { generator: g });
    const model = new Vbpr(3, feats, { dim: 2, generator: g });
    const w = mirrorGradient(new optim.Adam(model.parameters(), { lr: 0.01 }), { beta: 2 });
    const events: { index: number; loss: number; mirrorLoss: number }[] = [];
    w.onMirror = (e) => events.push({ index: e.index, loss: e.loss.item(), mirrorLoss: e.mirrorLoss.item() });
    const batches = sampleBprBatches(data.train, 6, 2, new Generator(1));
    const seen: string[][] = [];
    w.startEpoch();
    for (const b of batches) {
      const calls: string[] = [];
      w.step(() => {
        calls.push(`${b.users.join()}|${b.pos.join()}|${b.neg.join()}`);
        return model.loss(b);
      });
      seen.push(calls);
    }
    expect(seen.map((c) => c.length)).toEqual([2, 1, 2]);
    expect(seen[0]![0]).toBe(seen[0]![1]);
    expect(events.map((e) => e.index)).toEqual([0, 2]);
    // the second loss is evaluated at theta', after one Adam step downhill
    for (const e of events) expect(e.mirrorLoss).not.toBe(e.loss);
    // negatives avoid the user's training items
    const sets = trainSets(data.train);
    for (const b of batches) b.neg.forEach((n, r) => expect(sets[b.users[r]!]!.has(n)).toBe(false));
  });
});

describe('mirrorGradient: counters and validation', () => {
  it("'epoch' (official): batches 0, beta, 2beta of every epoch; n + ceil(n / beta) base steps per epoch", () => {
    const p = problem(4);
    const w = mirrorGradient(new optim.SGD(p.params, { lr: 0.01 }), { beta: 3 });
    const mirrored: number[][] = [];
    for (let e = 0; e < 2; e++) {
      w.startEpoch();
      const before = w.baseSteps;
      const m: number[] = [];
      for (let i = 0; i < 7; i++) {
        if (w.isMirrorStep()) m.push(i);
        w.step(() => p.loss(i));
      }
      mirrored.push(m);
      expect(w.baseSteps - before).toBe(7 + Math.ceil(7 / 3));
    }
    expect(mirrored).toEqual([[0, 3, 6], [0, 3, 6]]);
    expect([0, 1, 2, 3, 6, 7].map((i) => w.isMirrorStep(i))).toEqual([true, false, false, true, true, false]);
  });

  it("'global' (paper): iterations t = beta, 2beta, ... from 1, ignoring epochs; floor(T / beta) pairs", () => {
    const p = problem(5);
    const w = mirrorGradient(new optim.SGD(p.params, { lr: 0.01 }), { beta: 3, counter: 'global' });
    const ts: number[] = [];
    w.onMirror = (e) => ts.push(e.index);
    for (let e = 0; e < 2; e++) {
      w.startEpoch();
      for (let i = 0; i < 7; i++) w.step(() => p.loss(i));
    }
    expect(ts).toEqual([3, 6, 9, 12]);
    expect(w.baseSteps).toBe(14 + Math.floor(14 / 3));
    expect([1, 2, 3, 6].map((t) => w.isMirrorStep(t))).toEqual([false, false, true, true]);
    expect(() => w.isMirrorStep(0)).toThrow(/>= 1/);
  });

  it('rejects bad arguments with clear errors', () => {
    const opt = new optim.SGD([tensor([1], { requiresGrad: true })], { lr: 0.1 });
    expect(() => mirrorGradient(opt, { alpha1: 0.2, alpha2: 0.2 })).toThrow(/alpha1 must be greater than alpha2/);
    expect(() => mirrorGradient(opt, { alpha1: 0.1, alpha2: 0.3 })).toThrow(/alpha1 = 0.1, alpha2 = 0.3/);
    expect(() => mirrorGradient(opt, { alpha2: -0.1 })).toThrow(/alpha2 must be >= 0/);
    expect(() => mirrorGradient(opt, { beta: 0 })).toThrow(/beta must be a positive integer, got 0/);
    expect(() => mirrorGradient(opt, { beta: 1.5 })).toThrow(/beta must be a positive integer/);
    expect(() => mirrorGradient(opt, { counter: 'step' as 'epoch' })).toThrow(/counter must be 'epoch' or 'global'/);
    const w = mirrorGradient(opt);
    expect([w.alpha1, w.alpha2, w.beta, w.counter]).toEqual([1, 0.2, 3, 'epoch']);
    expect(() => w.step(() => tensor([1, 2], { requiresGrad: true }).mul(2))).toThrow(/scalar loss/);
  });

  it('is deterministic: VBPR + Adam + MG twice from the same seed gives the same parameters', () => {
    const run = () => {
      const g = new Generator(11);
      const feats = randn([8, 5], { generator: g });
      const model = new Vbpr(4, feats, { dim: 3, generator: g });
      const train = { users: Int32Array.from([0, 1, 1, 2, 3, 3]), items: Int32Array.from([1, 2, 3, 4, 5, 6]), offsets: Int32Array.from([0, 1, 3, 4, 6]) };
      const w = mirrorGradient(new optim.Adam(model.parameters(), { lr: 0.01 }), { alpha2: 0.2, beta: 2 });
      const s = new Generator(5);
      for (let e = 0; e < 3; e++) {
        w.startEpoch();
        for (const b of sampleBprBatches(train, 8, 2, s)) w.step(() => model.loss(b));
      }
      return values([...model.parameters()]);
    };
    expect(run()).toEqual(run());
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as mz from '../src/index.js';

const { optim } = mz;
const S = optim.lrScheduler;
type Tensor = mz.Tensor;
type Nested = number | Nested[];

/** Golden values written by tools/golden/optim_golden.py with PyTorch. */
const fixture = JSON.parse(readFileSync(new URL('./fixtures/optim.json', import.meta.url), 'utf8')) as {
  problem: Record<'w0' | 'b0' | 'cw' | 'tw' | 'cb' | 'tb', Nested>;
  optimizers: {
    name: string;
    optimizer: 'SGD' | 'Adam' | 'AdamW';
    options: Record<string, unknown>;
    groups: Record<string, unknown>[] | null;
    float32: { w: Nested; b: Nested }[];
    float64: { w: Nested; b: Nested }[];
  }[];
  schedulers: { name: string; spec: Spec; lrs: number[]; values: number[][] }[];
  closedForm: { name: string; spec: Spec; lrs: number[]; epochs: number[]; values: number[][] }[];
  clip: { grads: Nested[]; cases: { maxNorm: number; normType: number | 'inf'; total: number; grads: Nested[] }[] };
};
type Spec = { type: string; schedulers?: Spec[] } & Record<string, unknown>;

const flat = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(flat) : [v as number]);

function expectClose(actual: unknown, expected: unknown, atol: number, rtol = atol, what = ''): void {
  const a = flat(actual);
  const e = flat(expected);
  expect(a.length, what).toBe(e.length);
  a.forEach((x, i) => {
    if (!(Math.abs(x - e[i]!) <= atol + rtol * Math.abs(e[i]!))) throw new Error(`${what}[${i}]: got ${x}, expected ${e[i]} (diff ${x - e[i]!})`);
  });
}

/** The fixture's quadratic, loss = sum(cw (w - tw)^2) + sum(cb (b - tb)^2), with leaves w and b. */
function problem(dtype: mz.FloatDType) {
  const P = fixture.problem;
  const c = (k: keyof typeof P) => mz.keep(mz.tensor(P[k], { dtype }));
  const consts = { cw: c('cw'), tw: c('tw'), cb: c('cb'), tb: c('tb') };
  const w = c('w0').requiresGrad_();
  const b = c('b0').requiresGrad_();
  const backward = () =>
    mz.scope(() => {
      const loss = mz.add(mz.sum(mz.mul(consts.cw, mz.square(mz.sub(w, consts.tw)))), mz.sum(mz.mul(consts.cb, mz.square(mz.sub(b, consts.tb)))));
      loss.backward();
      return loss.item();
    });
  const dispose = () => [w, b, ...Object.values(consts)].forEach((t) => t.dispose());
  return { w, b, backward, dispose };
}

function makeOptimizer(kind: string, params: mz.optim.Params<never> | unknown[], options: Record<string, unknown>): mz.optim.Optimizer {
  const ctor = { SGD: optim.SGD, Adam: optim.Adam, AdamW: optim.AdamW }[kind]!;
  return new (ctor as unknown as new (p: unknown, o: unknown) => mz.optim.Optimizer)(params, options);
}

describe('optimisers match PyTorch step by step', () => {
  for (const c of fixture.optimizers) {
    for (const dtype of ['float32', 'float64'] as const) {
      it(`${c.name} (${dtype})`, () => {
        const { w, b, backward, dispose } = problem(dtype);
        const params = c.groups ? [{ params: [w], ...c.groups[0] }, { params: [b], ...c.groups[1] }] : [w, b];
        const opt = makeOptimizer(c.optimizer, params, c.options);
        // Measured: float32 within 2.4e-7 (an ulp or two), float64 within 4.5e-16.
        const tol = dtype === 'float32' ? 1e-6 : 1e-13;
        c[dtype].forEach((expected, step) => {
          opt.zeroGrad();
          backward();
          opt.step();
          expectClose(w.tolist(), expected.w, tol, tol, `${c.name} step ${step + 1} w`);
          expectClose(b.tolist(), expected.b, tol, tol, `${c.name} step ${step + 1} b`);
        });
        opt.zeroGrad();
        dispose();
      });
    }
  }

  it('keeps the per-parameter state PyTorch keeps', () => {
    const { w, b, backward, dispose } = problem('float64');
    const sgd = new optim.SGD([w, b], { lr: 0.1, momentum: 0.9 });
    backward();
    const g = w.grad!.tolist();
    sgd.step();
    // First step: the momentum buffer is the gradient itself.
    expect(sgd.state.get(w)!.momentumBuffer).toBeInstanceOf(mz.Tensor);
    expect((sgd.state.get(w)!.momentumBuffer as Tensor).tolist()).toEqual(g);
    sgd.zeroGrad();
    const adam = new optim.Adam([w, b], { amsgrad: true });
    backward();
    adam.step();
    adam.step();
    const s = adam.state.get(b)!;
    expect(Object.keys(s).sort()).toEqual(['expAvg', 'expAvgSq', 'maxExpAvgSq', 'step']);
    expect(s.step).toBe(2);
    adam.zeroGrad();
    dispose();
  });
});

describe('Optimizer API', () => {
  it('fills group hyperparameters from the defaults and keeps per-group overrides', () => {
    const a = mz.zeros([2], { requiresGrad: true });
    const b = mz.zeros([2], { requiresGrad: true });
    const opt = new optim.Adam([{ params: [a] }, { params: [b], lr: 0.5, betas: [0.5, 0.6] }], { lr: 0.01 });
    expect(opt.paramGroups[0]).toMatchObject({ lr: 0.01, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false });
    expect(opt.paramGroups[1]).toMatchObject({ lr: 0.5, betas: [0.5, 0.6] });
    expect(new optim.AdamW([a]).paramGroups[0]).toMatchObject({ lr: 1e-3, weightDecay: 0.01, decoupledWeightDecay: true });
    expect(new optim.SGD([a]).paramGroups[0]).toMatchObject({ lr: 1e-3, momentum: 0, dampening: 0, nesterov: false });
    // Groups do not share the defaults' betas array.
    opt.paramGroups[0]!.betas[0] = 0.1;
    expect(opt.defaults.betas[0]).toBe(0.9);
    a.dispose();
    b.dispose();
  });

  it('rejects bad parameters and hyperparameters with readable errors', () => {
    const a = mz.zeros([2], { requiresGrad: true });
    expect(() => new optim.SGD([])).toThrow(/SGD: params is an empty list/);
    expect(() => new optim.SGD([a], { lr: -1 })).toThrow(/group 0: lr must be >= 0, got -1/);
    expect(() => new optim.SGD([a], { momentum: -0.5 })).toThrow(/momentum must be >= 0, got -0.5/);
    expect(() => new optim.SGD([a], { nesterov: true })).toThrow(/nesterov needs momentum > 0 and dampening 0, got momentum 0, dampening 0/);
    expect(() => new optim.SGD([a], { nesterov: true, momentum: 0.9, dampening: 0.1 })).toThrow(/nesterov needs/);
    expect(() => new optim.Adam([a], { betas: [0.9, 1] })).toThrow(/Adam: group 0: betas\[1\] must be in \[0, 1\), got 1/);
    expect(() => new optim.AdamW([a], { eps: -1 })).toThrow(/AdamW: group 0: eps must be >= 0/);
    expect(() => new optim.SGD([{ params: [a] }, { params: [a] }])).toThrow(/group 1 params\[0\] appears more than once/);
    const nonLeaf = a.mul(2);
    expect(() => new optim.SGD([nonLeaf])).toThrow(/params\[0\] is not a leaf tensor/);
    expect(() => new optim.SGD([mz.zeros([2], { dtype: 'int32' })])).toThrow(/dtype int32; only floating-point/);
    expect(() => new optim.SGD([a, { params: [a] }] as never)).toThrow(/mixes tensors and parameter groups/);
    nonLeaf.dispose();
    a.dispose();
  });

  it('zeroGrad frees gradients by default and zero-fills them with setToNone: false', () => {
    const p = mz.keep(mz.ones([3])).requiresGrad_();
    const opt = new optim.SGD([p], { lr: 0.1 });
    mz.scope(() => p.mul(3).sum().backward());
    const g = p.grad!;
    opt.zeroGrad({ setToNone: false });
    expect(p.grad).toBe(g);
    expect(g.tolist()).toEqual([0, 0, 0]);
    opt.zeroGrad();
    expect(p.grad).toBeNull();
    expect(g.isDisposed).toBe(true);
    p.dispose();
  });

  it('skips parameters without gradients and returns the closure loss', () => {
    const p = mz.keep(mz.tensor([1, 2])).requiresGrad_();
    const q = mz.keep(mz.tensor([5, 5])).requiresGrad_();
    const opt = new optim.SGD([p, q], { lr: 0.5 });
    const loss = opt.step(() => {
      opt.zeroGrad();
      const l = p.mul(p).sum();
      l.backward();
      return l;
    });
    expect(loss!.item()).toBe(5);
    expect(p.tolist()).toEqual([0, 0]); // p - 0.5 * 2p
    expect(q.tolist()).toEqual([5, 5]);
    expect(opt.state.has(q)).toBe(false);
    loss!.dispose();
    opt.zeroGrad();
    p.dispose();
    q.dispose();
  });

  it('lets a wrapper change the update through stepGroup / updateParam', () => {
    // A gradient-mirroring wrapper in miniature: flips the gradient, then delegates to SGD's update.
    class Mirrored extends optim.SGD {
      override updateParam(param: Tensor, grad: Tensor, group: mz.optim.ParamGroup<mz.optim.SGDOptions>, state: mz.optim.ParamState): void {
        super.updateParam(param, mz.neg(grad), group, state);
      }
    }
    const p = mz.keep(mz.tensor([1, -1])).requiresGrad_();
    const opt = new Mirrored([p], { lr: 0.25 });
    mz.scope(() => p.mul(p).sum().backward());
    const before = mz.memory().tensors;
    opt.step();
    expect(mz.memory().tensors).toBe(before);
    expect(p.tolist()).toEqual([1.5, -1.5]);
    opt.zeroGrad();
    p.dispose();
  });
});

describe('optimiser memory', () => {
  for (const kind of ['SGD', 'Adam'] as const) {
    it(`${kind}: 2,000 steps leave tensors and bytes as after the first`, () => {
      const { w, b, backward, dispose } = problem('float32');
      const opt = kind === 'SGD' ? new optim.SGD([w, b], { lr: 0.01, momentum: 0.9, nesterov: true, weightDecay: 1e-3 }) : new optim.Adam([w, b], { lr: 0.01, amsgrad: true, weightDecay: 1e-3 });
      const train = () => {
        opt.zeroGrad();
        backward();
        opt.step();
      };
      train();
      const first = mz.memory();
      for (let i = 1; i < 2000; i++) train();
      const last = mz.memory();
      expect(last.tensors).toBe(first.tensors);
      expect(last.bytes).toBe(first.bytes);
      // The loop converges to the quadratic's minimum, so the steps did real work.
      expectClose(w.tolist(), fixture.problem.tw, 0.05, 0, `${kind} w at the minimum`);
      opt.zeroGrad();
      dispose();
    });
  }
});

describe('state dict', () => {
  function run(kind: 'SGD' | 'Adam', options: Record<string, unknown>) {
    const full = problem('float32');
    const opt = makeOptimizer(kind, [full.w, full.b], options);
    const step = (o: mz.optim.Optimizer, p: ReturnType<typeof problem>) => {
      o.zeroGrad();
      p.backward();
      o.step();
    };
    for (let i = 0; i < 3; i++) step(opt, full);
    const saved = opt.stateDict();
    const json = saved.paramGroups.map((g) => ({ ...g }));
    // Resume on fresh tensors holding the same values.
    const resumed = problem('float32');
    resumed.w.assign(full.w.detach());
    resumed.b.assign(full.b.detach());
    const opt2 = makeOptimizer(kind, [resumed.w, resumed.b], { lr: 123 });
    opt2.loadStateDict(saved);
    for (const t of Object.values(saved.state).flatMap((s) => Object.values(s))) if (t instanceof mz.Tensor) t.dispose();
    expect(opt2.paramGroups[0]!.lr).toBe(options.lr);
    for (let i = 0; i < 4; i++) {
      step(opt, full);
      step(opt2, resumed);
    }
    const bits = (t: Tensor) => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));
    expect(bits(resumed.w)).toEqual(bits(full.w));
    expect(bits(resumed.b)).toEqual(bits(full.b));
    expect(json[0]!.params).toEqual([0, 1]);
    opt.zeroGrad();
    opt2.zeroGrad();
    full.dispose();
    resumed.dispose();
    return saved;
  }

  it('SGD with momentum resumes bit-exactly', () => {
    const saved = run('SGD', { lr: 0.05, momentum: 0.9, dampening: 0.1 });
    expect(Object.keys(saved.state[0]!)).toEqual(['momentumBuffer']);
  });

  it('Adam with amsgrad resumes bit-exactly (moments and step counts)', () => {
    const saved = run('Adam', { lr: 0.05, amsgrad: true, weightDecay: 0.01 });
    expect(saved.state[1]!.step).toBe(3);
    expect(saved.paramGroups[0]).toMatchObject({ lr: 0.05, betas: [0.9, 0.999], amsgrad: true, params: [0, 1] });
  });

  it('a snapshot does not change when the optimiser steps on', () => {
    const { w, b, backward, dispose } = problem('float64');
    const opt = new optim.SGD([w, b], { lr: 0.1, momentum: 0.9 });
    backward();
    opt.step();
    const snap = opt.stateDict();
    const before = (snap.state[0]!.momentumBuffer as Tensor).tolist();
    opt.step();
    expect((snap.state[0]!.momentumBuffer as Tensor).tolist()).toEqual(before);
    expect((opt.state.get(w)!.momentumBuffer as Tensor).tolist()).not.toEqual(before);
    for (const s of Object.values(snap.state)) (s.momentumBuffer as Tensor).dispose();
    opt.zeroGrad();
    dispose();
  });

  it('rejects a state dict of another layout', () => {
    const a = mz.zeros([2], { requiresGrad: true });
    const b = mz.zeros([2], { requiresGrad: true });
    const one = new optim.SGD([a, b]);
    const two = new optim.SGD([{ params: [a] }, { params: [b] }]);
    expect(() => two.loadStateDict(one.stateDict())).toThrow(/state dict has 1 parameter groups, the optimizer has 2/);
    expect(() => new optim.SGD([a]).loadStateDict(one.stateDict())).toThrow(/group 0 has 2 parameters in the state dict, 1 in the optimizer/);
    a.dispose();
    b.dispose();
  });
});

describe('gradient clipping', () => {
  const setup = () =>
    fixture.clip.grads.map((g) => {
      const p = mz.keep(mz.zerosLike(mz.tensor(g))).requiresGrad_();
      p.grad = mz.keep(mz.tensor(g));
      return p;
    });

  for (const c of fixture.clip.cases) {
    it(`clipGradNorm(maxNorm ${c.maxNorm}, normType ${c.normType}) matches PyTorch`, () => {
      const params = setup();
      const grads = params.map((p) => p.grad);
      const total = optim.clipGradNorm(params, c.maxNorm, c.normType === 'inf' ? Infinity : c.normType);
      expect(total.shape).toEqual([]);
      expectClose(total.item(), c.total, 1e-6, 1e-6, 'total norm');
      params.forEach((p, i) => {
        expect(p.grad).toBe(grads[i]); // rescaled in place
        expectClose(p.grad!.tolist(), c.grads[i], 1e-6, 1e-6, `grad ${i}`);
      });
      total.dispose();
      params.forEach((p) => p.dispose());
    });
  }

  it('returns 0 without gradients, and errors on a non-finite norm only when asked', () => {
    const p = mz.zeros([2], { requiresGrad: true });
    const zero = optim.clipGradNorm([p], 1);
    expect(zero.item()).toBe(0);
    p.grad = mz.keep(mz.tensor([Infinity, 1]));
    expect(() => optim.clipGradNorm(p, 1, 2, { errorIfNonfinite: true })).toThrow(/clipGradNorm: the total norm of order 2 of the gradients is non-finite \(Infinity\)/);
    expect(p.grad.tolist()).toEqual([Infinity, 1]);
    const total = optim.clipGradNorm(p, 1);
    expect(total.item()).toBe(Infinity);
    expect(() => optim.clipGradNorm(p, NaN)).toThrow(/maxNorm must be a finite number/);
    [zero, total, p].forEach((t) => t.dispose());
  });

  it('clipGradValue clamps in place', () => {
    const p = mz.zeros([4], { requiresGrad: true });
    p.grad = mz.keep(mz.tensor([-3, -0.5, 0.25, 7]));
    const g = p.grad;
    optim.clipGradValue([p], 1);
    expect(p.grad).toBe(g);
    expect(p.grad.tolist()).toEqual([-1, -0.5, 0.25, 1]);
    expect(() => optim.clipGradValue([p], -1)).toThrow(/clipValue must be >= 0, got -1/);
    p.dispose();
  });
});

describe('learning-rate schedulers match PyTorch', () => {
  function sgd(lrs: number[]) {
    const params = lrs.map(() => mz.zeros([1], { requiresGrad: true }));
    const opt = new optim.SGD(lrs.map((lr, i) => ({ params: [params[i]!], lr })));
    return { opt, dispose: () => params.forEach((p) => p.dispose()) };
  }
  function build(opt: mz.optim.Optimizer, spec: Spec): InstanceType<typeof S.LRScheduler> {
    switch (spec.type) {
      case 'StepLR':
        return new S.StepLR(opt, spec as never);
      case 'MultiStepLR':
        return new S.MultiStepLR(opt, spec as never);
      case 'CosineAnnealingLR':
        return new S.CosineAnnealingLR(opt, spec as never);
      case 'LinearLR':
        return new S.LinearLR(opt, spec as never);
      case 'LambdaLR':
        return new S.LambdaLR(opt, { lrLambda: [(e) => 0.95 ** e, (e) => 1 / (e + 1)] });
      case 'SequentialLR':
        return new S.SequentialLR(opt, { schedulers: spec.schedulers!.map((s) => build(opt, s)), milestones: spec.milestones as number[] });
    }
    throw new Error(`unknown scheduler ${spec.type}`);
  }

  for (const c of fixture.schedulers) {
    it(`${c.name}: ${c.values.length - 1} steps`, () => {
      const { opt, dispose } = sgd(c.lrs);
      const sched = build(opt, c.spec);
      const got = [sched.getLastLr()];
      for (let i = 1; i < c.values.length; i++) {
        opt.step();
        sched.step();
        got.push(sched.getLastLr());
      }
      expectClose(got, c.values, 1e-15, 1e-12, c.name);
      expect(opt.paramGroups.map((g) => g.lr)).toEqual(got[got.length - 1]);
      dispose();
    });
  }

  for (const c of fixture.closedForm) {
    it(`${c.name}: closed form at epochs ${c.epochs.join(',')}`, () => {
      const { opt, dispose } = sgd(c.lrs);
      const sched = build(opt, c.spec);
      const got = c.epochs.map((e) => {
        sched.step(e);
        return sched.getLastLr();
      });
      expectClose(got, c.values, 1e-15, 1e-12, c.name);
      dispose();
    });
  }

  it('state dicts are JSON and resume the schedule exactly', () => {
    const spec = fixture.schedulers.find((s) => s.name === 'sequential_warmup_cosine')!;
    const a = sgd(spec.lrs);
    const sa = build(a.opt, spec.spec);
    for (let i = 0; i < 5; i++) sa.step();
    const saved = JSON.parse(JSON.stringify({ opt: a.opt.stateDict(), sched: sa.stateDict() }));
    expect(saved.sched).toMatchObject({ lastEpoch: 5, milestones: [3] });
    expect(saved.sched.schedulers).toHaveLength(2);
    expect(saved.opt.paramGroups[0].initialLr).toBe(0.1);

    const b = sgd(spec.lrs);
    const sb = build(b.opt, spec.spec);
    b.opt.loadStateDict(saved.opt);
    sb.loadStateDict(saved.sched);
    for (let i = 5; i < spec.values.length - 1; i++) {
      sa.step();
      sb.step();
      expect(sb.getLastLr()).toEqual(sa.getLastLr());
    }
    expectClose(sb.getLastLr(), spec.values[spec.values.length - 1], 1e-15, 1e-12);
    a.dispose();
    b.dispose();
  });

  it('LambdaLR leaves its functions out of the state dict', () => {
    const { opt, dispose } = sgd([0.1]);
    const s = new S.LambdaLR(opt, { lrLambda: (e) => 1 / (e + 1) });
    s.step();
    const d = s.stateDict();
    expect(d).not.toHaveProperty('lrLambdas');
    expect(d).toMatchObject({ lastEpoch: 1, baseLrs: [0.1], lastLr: [0.05] });
    dispose();
  });

  it('rejects bad arguments', () => {
    const { opt, dispose } = sgd([0.1]);
    const other = sgd([0.1]);
    expect(() => new S.StepLR(opt, { stepSize: 0 })).toThrow(/StepLR: stepSize must be a positive integer, got 0/);
    expect(() => new S.LinearLR(opt, { startFactor: 0 })).toThrow(/startFactor must be in \(0, 1\], got 0/);
    expect(() => new S.LinearLR(opt, { endFactor: 1.5 })).toThrow(/endFactor must be in \[0, 1\], got 1.5/);
    expect(() => new S.CosineAnnealingLR(opt, { tMax: 2.5 })).toThrow(/tMax must be a positive integer/);
    expect(() => new S.LambdaLR(opt, { lrLambda: [() => 1, () => 1] })).toThrow(/expected 1 lrLambda functions/);
    const s1 = new S.StepLR(opt, { stepSize: 2 });
    expect(() => new S.SequentialLR(opt, { schedulers: [s1], milestones: [3] })).toThrow(/expects 0 milestones for 1 schedulers, got 1/);
    expect(() => new S.SequentialLR(opt, { schedulers: [s1, new S.StepLR(other.opt, { stepSize: 2 })], milestones: [3] })).toThrow(/schedulers\[1\] \(StepLR\) belongs to a different optimizer/);
    const fresh = sgd([0.1]);
    expect(() => new S.StepLR(fresh.opt, { stepSize: 2, lastEpoch: 4 })).toThrow(/group 0 has no initialLr/);
    dispose();
    other.dispose();
    fresh.dispose();
  });
});

/**
 * `ResidualStep`: a residual block read as one step of an ODE solver (arXiv 2308.09939, section on
 * the dynamical-system view of ResNets):
 *
 *   post-activation:  x_{t+1} = relu(s(x_t) + a_t ⊙ f(x_t))     (ResNet, SE-ResNet: He et al. 2016a,
 *                                                                Hu et al. 2018; the group's senet.py)
 *   pre-activation:   x_{t+1} = s(x_t) + a_t ⊙ f(x_t)           (He et al. 2016b; bearpaw preresnet)
 *
 * with s the shortcut (identity, or a projection where the shape changes) and a_t the step size:
 * 1 for a plain block (`adaptor: 'none'`, forward Euler with unit step), the `StepSizeAdaptor`
 * output otherwise, or a constant forced through `fixedStep` (the invariants: 1 gives the plain
 * block, 0 the shortcut alone).
 *
 * Branches f, with member names as torchvision / `@methodzoo/models` (post) and bearpaw's
 * pre-activation ResNet (pre), so weights move by name:
 *   basic       post: conv1 bn1 relu conv2 bn2            pre: bn1 relu conv1 bn2 relu conv2
 *   bottleneck  post: conv1(1x1) bn1 relu conv2(3x3, stride) bn2 relu conv3(1x1, 4 planes) bn3
 *               pre:  bn1 relu conv1 bn2 relu conv2 bn3 relu conv3
 *   mlp         the basic block with Linear / BatchNorm1d in place of conv / BatchNorm2d
 *                     (a residual MLP on [N, features]; `stride` must be 1)
 * Shortcut `downsample`: post 1x1 conv (stride) + BN (option B), pre 1x1 conv alone, mlp Linear
 * (+ BN1d when post), all without bias. The adaptor is the child `attention`, where
 * `@methodzoo/models`' blocks hold SE, so an SE-ResNet's state dict loads by name.
 */
import { add, cat, full, fullLike, gt, mean, mul, nn, OpError, sqrt, sum, where, type Tensor } from '@methodzoo/core';
import { ADAPTOR_KINDS, MEMORY_FEATURES, scaleResidual, StepSizeAdaptor, type AdaptorKind } from './adaptor.js';

export type BlockKind = 'basic' | 'bottleneck' | 'mlp';
export type Activation = 'post' | 'pre';
export type AdaptorOption = 'none' | AdaptorKind;

/** Added to the norm in the denominator of every relative step (R2 memory, NSI). */
export const STIFFNESS_EPS = 1e-8;

export interface ResidualStepOptions extends nn.FactoryOptions {
  /** 'basic' (default), 'bottleneck' (output 4 x planes) or 'mlp'. */
  block?: BlockKind;
  /** 'post' (default, ReLU after the addition) or 'pre' (BN-ReLU before each layer, no ReLU after). */
  activation?: Activation;
  /** 'none' (plain ResNet, step 1), 'se' (the SAM baseline), 'r1' or 'r2' (reconstructions). */
  adaptor?: AdaptorOption;
  /** SE reduction r (16). */
  reduction?: number;
  /** Stride of the block (1); conv blocks only. */
  stride?: number;
}

/** What one step computed, handed to step listeners (`recordTrajectory`). */
export interface StepRecord {
  /** x_t, the block's input. */
  input: Tensor;
  /** s(x_t), the shortcut path. */
  shortcut: Tensor;
  /** f(x_t), the residual branch before scaling. */
  residual: Tensor;
  /** a_t [N, C]; null for a plain block (step 1). */
  attention: Tensor | null;
  /** x_{t+1}. */
  output: Tensor;
}

export type StepListener = (record: StepRecord) => void;

export interface StepOutput extends StepRecord {
  /** m_t for the next block's R2 adaptor, [N, 2]: only when asked for. */
  memory: Tensor | null;
}

/**
 * Per-sample L2 norm over every dim but the first, [N]. Its gradient at a zero sample is 0 (the
 * double `where` keeps sqrt's infinite slope at 0 out of the graph), so a residual branch that is
 * exactly zero for some sample (all ReLUs off) does not turn the gradients into NaN.
 */
export function sampleNorm(t: Tensor): Tensor {
  if (t.ndim < 2) throw new OpError('sampleNorm', `expected [N, ...] with at least two dims, got [${t.shape.join(', ')}]`);
  const sq = sum(mul(t, t), Array.from({ length: t.ndim - 1 }, (_, i) => i + 1));
  const pos = gt(sq, 0);
  return where(pos, sqrt(where(pos, sq, 1)), 0);
}

/**
 * Per-sample relative step ‖a ⊙ f‖ / (‖s‖ + eps) and mean step size: the R2 memory [N, 2].
 * `scaled` is a ⊙ f (f itself for a plain block), `attention` null means a ≡ 1.
 */
export function stepMemory(scaled: Tensor, shortcut: Tensor, attention: Tensor | null, eps = STIFFNESS_EPS): Tensor {
  const rel = sampleNorm(scaled).div(sampleNorm(shortcut).add(eps));
  const abar = attention ? mean(attention, 1) : fullLike(rel, 1);
  const n = rel.shape[0]!;
  return cat([rel.reshape([n, 1]), abar.reshape([n, 1])], 1);
}

/**
 * One residual block with a step-size adaptor.
 *
 * Args:
 *   inplanes: input channels (features for 'mlp').
 *   planes: branch width; the output has planes (basic, mlp) or 4 planes (bottleneck) channels.
 *   opts: block, activation, adaptor, reduction, stride, dtype, backend, generator.
 *
 * Shape: [N, inplanes, H, W] -> [N, out, H / stride, W / stride]; 'mlp': [N, inplanes] -> [N, planes].
 *
 * `fixedStep`: a number forces a_t to that constant for every sample and channel (any adaptor,
 * 'none' included); null (default) lets the adaptor decide.
 */
export class ResidualStep extends nn.Module {
  readonly inplanes: number;
  readonly planes: number;
  readonly outChannels: number;
  readonly stride: number;
  readonly blockKind: BlockKind;
  readonly activation: Activation;
  readonly adaptorKind: AdaptorOption;
  fixedStep: number | null = null;
  declare conv1: nn.Module | undefined;
  declare fc1: nn.Module | undefined;
  declare bn1: nn.Module;
  declare conv2: nn.Module | undefined;
  declare fc2: nn.Module | undefined;
  declare bn2: nn.Module;
  declare conv3: nn.Module | undefined;
  declare bn3: nn.Module | undefined;
  declare attention: StepSizeAdaptor | null;
  declare downsample: nn.Module | null;
  relu: nn.ReLU;
  readonly #listeners = new Set<StepListener>();

  constructor(inplanes: number, planes: number, opts: ResidualStepOptions = {}) {
    super();
    const kind = opts.block ?? 'basic';
    const act = opts.activation ?? 'post';
    const adaptor = opts.adaptor ?? 'none';
    const stride = opts.stride ?? 1;
    if (!['basic', 'bottleneck', 'mlp'].includes(kind)) throw new OpError('ResidualStep', `block must be 'basic', 'bottleneck' or 'mlp', got '${String(kind)}'`);
    if (act !== 'post' && act !== 'pre') throw new OpError('ResidualStep', `activation must be 'post' or 'pre', got '${String(act)}'`);
    if (adaptor !== 'none' && !ADAPTOR_KINDS.includes(adaptor)) throw new OpError('ResidualStep', `adaptor must be 'none', ${ADAPTOR_KINDS.map((k) => `'${k}'`).join(', ')}, got '${String(adaptor)}'`);
    for (const [n, v] of [['inplanes', inplanes], ['planes', planes], ['stride', stride]] as const) {
      if (!Number.isInteger(v) || v <= 0) throw new OpError('ResidualStep', `${n} must be a positive integer, got ${v}`);
    }
    if (kind === 'mlp' && stride !== 1) throw new OpError('ResidualStep', `stride must be 1 for 'mlp' blocks, got ${stride}`);
    this.inplanes = inplanes;
    this.planes = planes;
    this.stride = stride;
    this.blockKind = kind;
    this.activation = act;
    this.adaptorKind = adaptor;
    const out = kind === 'bottleneck' ? 4 * planes : planes;
    this.outChannels = out;
    const layer: nn.FactoryOptions = { dtype: opts.dtype, backend: opts.backend, generator: opts.generator };
    const conv = (i: number, o: number, k: number, s = 1) => new nn.Conv2d(i, o, k, { ...layer, stride: s, padding: k === 3 ? 1 : 0, bias: false });
    const bn = (c: number) => (kind === 'mlp' ? new nn.BatchNorm1d(c, layer) : new nn.BatchNorm2d(c, layer));
    const pre = act === 'pre';
    // Registration order is the state-dict order of the reference implementations.
    if (kind === 'mlp') {
      if (pre) this.registerModule('bn1', bn(inplanes));
      this.registerModule('fc1', new nn.Linear(inplanes, planes, { ...layer, bias: false }));
      this.registerModule(pre ? 'bn2' : 'bn1', bn(planes));
      this.registerModule('fc2', new nn.Linear(planes, planes, { ...layer, bias: false }));
      if (!pre) this.registerModule('bn2', bn(planes));
    } else if (kind === 'basic') {
      if (pre) this.registerModule('bn1', bn(inplanes));
      this.registerModule('conv1', conv(inplanes, planes, 3, stride));
      this.registerModule(pre ? 'bn2' : 'bn1', bn(planes));
      this.registerModule('conv2', conv(planes, planes, 3));
      if (!pre) this.registerModule('bn2', bn(planes));
    } else {
      if (pre) this.registerModule('bn1', bn(inplanes));
      this.registerModule('conv1', conv(inplanes, planes, 1));
      this.registerModule(pre ? 'bn2' : 'bn1', bn(planes));
      this.registerModule('conv2', conv(planes, planes, 3, stride));
      this.registerModule(pre ? 'bn3' : 'bn2', bn(planes));
      this.registerModule('conv3', conv(planes, out, 1));
      if (!pre) this.registerModule('bn3', bn(out));
    }
    this.registerModule('attention', adaptor === 'none' ? null : new StepSizeAdaptor(out, { ...layer, kind: adaptor, reduction: opts.reduction }));
    let down: nn.Module | null = null;
    if (stride !== 1 || inplanes !== out) {
      const proj = kind === 'mlp' ? new nn.Linear(inplanes, out, { ...layer, bias: false }) : conv(inplanes, out, 1, stride);
      down = pre ? new nn.Sequential(proj) : new nn.Sequential(proj, bn(out));
    }
    this.registerModule('downsample', down);
    this.relu = new nn.ReLU();
  }

  /** Whether the output has the input's shape (the shortcut is the identity). */
  get keepsShape(): boolean {
    return this.downsample === null;
  }

  /** Registers a function called with every step's tensors (`recordTrajectory` uses it). */
  addStepListener(fn: StepListener): { remove(): void } {
    this.#listeners.add(fn);
    return { remove: () => void this.#listeners.delete(fn) };
  }

  #check(x: Tensor): void {
    const ok = this.blockKind === 'mlp' ? x.ndim === 2 && x.shape[1] === this.inplanes : x.ndim === 4 && x.shape[1] === this.inplanes;
    const want = this.blockKind === 'mlp' ? `[N, ${this.inplanes}]` : `[N, ${this.inplanes}, H, W]`;
    if (!ok) throw new OpError('ResidualStep', `expected input ${want}, got [${x.shape.join(', ')}]`);
  }

  /** f(x_t): the residual branch. */
  residual(x: Tensor): Tensor {
    const r = (t: Tensor) => this.relu.call(t);
    const m = (name: string, t: Tensor) => (this as unknown as Record<string, nn.Module>)[name]!.call(t) as Tensor;
    const a = this.blockKind === 'mlp' ? 'fc' : 'conv';
    if (this.activation === 'post') {
      let h = r(m('bn1', m(`${a}1`, x)));
      if (this.blockKind === 'bottleneck') {
        h = r(m('bn2', m('conv2', h)));
        return m('bn3', m('conv3', h));
      }
      return m('bn2', m(`${a}2`, h));
    }
    let h = m(`${a}1`, r(m('bn1', x)));
    h = m(`${a}2`, r(m('bn2', h)));
    if (this.blockKind === 'bottleneck') h = m('conv3', r(m('bn3', h)));
    return h;
  }

  /** s(x_t): the shortcut path. */
  shortcut(x: Tensor): Tensor {
    return this.downsample ? (this.downsample.call(x) as Tensor) : x;
  }

  /**
   * One step with everything it computed. `memory` is the previous block's m_{t-1} (R2 only);
   * `emitMemory` asks for this block's m_t.
   */
  forwardStep(x: Tensor, memory: Tensor | null = null, emitMemory = false): StepOutput {
    this.#check(x);
    const f = this.residual(x);
    const s = this.shortcut(x);
    let a: Tensor | null = null;
    if (this.fixedStep !== null) a = full([f.shape[0]!, f.shape[1]!], this.fixedStep, { dtype: f.dtype, backend: f.backend });
    else if (this.attention) a = this.attention.step(f, this.attention.usesState ? s : null, this.attention.usesMemory ? memory : null);
    const scaled = a ? scaleResidual(f, a) : f;
    const sumAll = add(s, scaled);
    const y = this.activation === 'post' ? (this.relu.call(sumAll) as Tensor) : sumAll;
    const record: StepOutput = { input: x, shortcut: s, residual: f, attention: a, output: y, memory: emitMemory ? stepMemory(scaled, s, a) : null };
    for (const fn of this.#listeners) fn(record);
    return record;
  }

  forward(x: Tensor): Tensor {
    return this.forwardStep(x).output;
  }

  override extraRepr(): string {
    return `block=${this.blockKind}, activation=${this.activation}, adaptor=${this.adaptorKind}, ${this.inplanes}->${this.outChannels}, stride=${this.stride}`;
  }
}

export { MEMORY_FEATURES };

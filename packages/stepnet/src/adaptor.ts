/**
 * The step-size adaptor of "Understanding Self-attention Mechanism via Dynamical System
 * Perspective" (Huang et al., ICCV 2023, arXiv 2308.09939). A residual block is one forward-Euler
 * step of dx/dt = f(x, t); a self-attention module (SAM) turns it into an adaptive step
 *
 *   x_{t+1} = x_t + a_t ⊙ f(x_t),   a_t = M(f(x_t)) ∈ (0, 1)^C          (authors' concept figure)
 *
 * so a_t is a per-sample, per-channel step size ("SAM is a stiffness-aware step size adaptor",
 * abstract). The paper's own StepNet module is not public (see the README); this file holds
 *
 * - `kind: 'se'`: the SAM baseline the paper compares with, Squeeze-and-Excitation
 *     a = sigmoid(W2 relu(W1 GAP(f) + b1) + b2)   (Hu et al. 2018, eq. 2-3; verified placement and
 *   biases from the group's `Qrange-group/LSAS` `cifar/senet.py`);
 * - `kind: 'r1'` (our reconstruction R1, "state-aware"): the relative step ‖a ⊙ f‖ / ‖x‖ that the
 *   stiffness index measures depends on the state as well as on f, so the adaptor also sees the state
 *     a = sigmoid(W2 relu(W1 GAP(f) + V GAP(s) + b1) + b2)
 *   with s the block's shortcut (x itself where the shape is kept). V = 0 gives SE exactly;
 * - `kind: 'r2'` (our reconstruction R2, "with memory", after adaptive ODE step controllers that
 *   use the previous step's error, and the group's DIANet that shares state across blocks)
 *     a_t = sigmoid(W2 relu(W1 GAP(f) + U m_{t-1} + b1) + b2),
 *     m_{t-1} = [‖a_{t-1} ⊙ f_{t-1}‖ / (‖s_{t-1}‖ + eps), mean_c a_{t-1}]   (per sample)
 *   the previous block's relative step and mean step size. U = 0 (or no memory) gives SE exactly.
 *
 * Member names follow `@methodzoo/models`' SEBlock (`fc1`, `fc2`), so SE weights load into every
 * kind by name; the extra weights are `stateFc.weight` (R1) and `memoryFc.weight` (R2).
 */
import { mean, mul, nn, OpError, reshape, sigmoid, type Tensor } from '@methodzoo/core';

export type AdaptorKind = 'se' | 'r1' | 'r2';
export const ADAPTOR_KINDS: readonly AdaptorKind[] = ['se', 'r1', 'r2'];
/** Features of the R2 memory m_t: [relative step, mean step size]. */
export const MEMORY_FEATURES = 2;

export interface StepSizeAdaptorOptions extends nn.FactoryOptions {
  /** 'se' (default), 'r1' or 'r2' (reconstructions, see the file header). */
  kind?: AdaptorKind;
  /** r: the hidden layer has max(1, floor(C / r)) units (16, as SE and the group's code). */
  reduction?: number;
}

const fmt = (t: Tensor) => `[${t.shape.join(', ')}]`;

/** Per-channel summary of a feature: the global average over H, W for [N, C, H, W], itself for [N, C]. */
export function poolChannels(op: string, t: Tensor): Tensor {
  if (t.ndim === 4) return mean(t, [2, 3]);
  if (t.ndim === 2) return t;
  throw new OpError(op, `expected a feature [N, C, H, W] or [N, C], got ${fmt(t)}`);
}

/**
 * a ⊙ f with a [N, C] broadcast over the spatial dims of f ([N, C, H, W] or [N, C]). The shapes
 * must agree exactly; a mismatch names both.
 */
export function scaleResidual(residual: Tensor, step: Tensor): Tensor {
  if (step.ndim !== 2 || step.shape[0] !== residual.shape[0] || step.shape[1] !== residual.shape[1] || (residual.ndim !== 2 && residual.ndim !== 4)) {
    throw new OpError('scaleResidual', `step sizes must be [N, C] for a residual [N, C, H, W] or [N, C]; got step ${fmt(step)} for residual ${fmt(residual)}`);
  }
  return residual.ndim === 4 ? mul(residual, reshape(step, [step.shape[0]!, step.shape[1]!, 1, 1])) : mul(residual, step);
}

/**
 * Per-sample, per-channel step sizes a ∈ (0, 1)^C for a residual branch, to drop into any residual
 * block: `y = x + adaptor.call(f, x)` (post-activation: `relu(...)`).
 *
 * Args:
 *   channels: C, the residual branch's width.
 *   opts.kind ('se'), opts.reduction (16), dtype, backend, generator.
 *
 * Shape: residual f [N, C, H, W] or [N, C]; state [same as f] (R1); memory [N, 2] (R2) -> step [N, C].
 *
 * State-dict keys: `fc1.weight` [h, C], `fc1.bias`, `fc2.weight` [C, h], `fc2.bias`, plus
 * `stateFc.weight` [h, C] (R1) or `memoryFc.weight` [h, 2] (R2), both without bias.
 *
 * Example:
 * ```ts
 * const adaptor = new StepSizeAdaptor(64, { kind: 'r1', reduction: 16 });
 * const y = x.add(adaptor.call(f, x)).relu(); // x_{t+1} = relu(x_t + a_t ⊙ f(x_t))
 * ```
 */
export class StepSizeAdaptor extends nn.Module {
  readonly channels: number;
  readonly hidden: number;
  readonly kind: AdaptorKind;
  fc1: nn.Linear;
  fc2: nn.Linear;
  declare stateFc: nn.Linear | undefined;
  declare memoryFc: nn.Linear | undefined;

  constructor(channels: number, opts: StepSizeAdaptorOptions = {}) {
    super();
    const kind = opts.kind ?? 'se';
    const r = opts.reduction ?? 16;
    if (!ADAPTOR_KINDS.includes(kind)) throw new OpError('StepSizeAdaptor', `kind must be one of ${ADAPTOR_KINDS.join(', ')}, got '${String(kind)}'`);
    if (!Number.isInteger(channels) || channels <= 0) throw new OpError('StepSizeAdaptor', `channels must be a positive integer, got ${channels}`);
    if (!(r > 0)) throw new OpError('StepSizeAdaptor', `reduction must be positive, got ${r}`);
    this.channels = channels;
    this.kind = kind;
    this.hidden = Math.max(1, Math.floor(channels / r));
    const layer = { dtype: opts.dtype, backend: opts.backend, generator: opts.generator };
    this.fc1 = new nn.Linear(channels, this.hidden, layer);
    this.fc2 = new nn.Linear(this.hidden, channels, layer);
    // PyTorch's default init, as if W1 took the concatenation [GAP f; GAP s] (fan-in per part).
    if (kind === 'r1') this.registerModule('stateFc', new nn.Linear(channels, this.hidden, { ...layer, bias: false }));
    if (kind === 'r2') this.registerModule('memoryFc', new nn.Linear(MEMORY_FEATURES, this.hidden, { ...layer, bias: false }));
  }

  /** Whether `step` reads the state (R1). */
  get usesState(): boolean {
    return this.kind === 'r1';
  }

  /** Whether `step` reads the previous block's memory (R2). */
  get usesMemory(): boolean {
    return this.kind === 'r2';
  }

  /** The pre-sigmoid logits [N, C]. `memory` may be omitted (zeros: the first block). */
  logits(residual: Tensor, state?: Tensor | null, memory?: Tensor | null): Tensor {
    const g = poolChannels('StepSizeAdaptor', residual);
    if (g.shape[1] !== this.channels) throw new OpError('StepSizeAdaptor', `residual must have ${this.channels} channels, got ${fmt(residual)}`);
    let z = this.fc1.call(g);
    if (this.stateFc) {
      if (!state) throw new OpError('StepSizeAdaptor', `the 'r1' adaptor needs the state (shortcut) tensor beside the residual ${fmt(residual)}`);
      if (state.shape.length !== residual.shape.length || state.shape.some((d, i) => d !== residual.shape[i])) {
        throw new OpError('StepSizeAdaptor', `state must have the residual's shape ${fmt(residual)}, got ${fmt(state)}`);
      }
      z = z.add(this.stateFc.call(poolChannels('StepSizeAdaptor', state)));
    }
    if (this.memoryFc && memory) {
      if (memory.ndim !== 2 || memory.shape[0] !== residual.shape[0] || memory.shape[1] !== MEMORY_FEATURES) {
        throw new OpError('StepSizeAdaptor', `memory must be [${residual.shape[0]}, ${MEMORY_FEATURES}], got ${fmt(memory)}`);
      }
      z = z.add(this.memoryFc.call(memory));
    }
    return this.fc2.call(z.relu());
  }

  /** Step sizes a = sigmoid(logits) ∈ (0, 1), [N, C]. */
  step(residual: Tensor, state?: Tensor | null, memory?: Tensor | null): Tensor {
    return sigmoid(this.logits(residual, state, memory));
  }

  /** The scaled residual a ⊙ f (same shape as f). */
  forward(residual: Tensor, state?: Tensor | null, memory?: Tensor | null): Tensor {
    return scaleResidual(residual, this.step(residual, state, memory));
  }

  override extraRepr(): string {
    return `channels=${this.channels}, hidden=${this.hidden}, kind=${this.kind}`;
  }
}

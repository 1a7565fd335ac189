/**
 * The learned correction of the AI-hybrid solver, u_{k+1} = u_k + S_dt(u_k) + C(u_k)
 * (arXiv:2302.10184, Sec. 3, built on NeurVec: Huang et al., Sci. Rep. 13:15254, 2023).
 *
 * - `Rational`: NeurVec's learnable (3,2) rational activation (7 shared coefficients).
 * - `NeurVecCorrector`: C = N(u) = Linear(d, h) -> activation -> Linear(h, d) (verified from code).
 * - `AttSolverCorrector`: N combined with a bounded, Lipschitz attention A(z) = gate(W2 relu(W1 z + b1) + b2).
 *   The paper's Section 3 (the exact A, its input z and what the additive "⊕" adds) is not public to
 *   us, so the candidates of the project's spec are options: combine 'add' (N + A), 'mul' (N ⊙ A,
 *   AttNS-m) and 'residualMul' (N ⊙ (1 + A)); input 'state' (u), 'correction' (N(u)) or 'increment'
 *   (S_dt(u)). The base increment S is never rescaled, so the scheme stays consistent with u' = F(u).
 * - `HybridSolver`: the stepper with any corrector (or none), `step` and `rollout`.
 */
import { nn, OpError, type DType, type Generator, type Tensor, tensor, stack } from '@methodzoo/core';
import { checkState, type OdeFunction } from './ode.js';
import { checkIntegrate, resolveStepper, type BaseScheme, type Stepper } from './steppers.js';

/** NeurVec's rational initialisation (a ReLU fit on [-1, 1]): a0..a3 then b0..b2. */
export const RATIONAL_INIT = { numerator: [0.0218, 0.5, 1.5957, 1.1915], denominator: [1, 0, 2.383] } as const;

/** r(x) = (a3 x^3 + a2 x^2 + a1 x + a0) / (b2 x^2 + b1 x + b0), coefficients shared by the whole layer. */
export class Rational extends nn.Module {
  /** a0, a1, a2, a3. */
  numerator: nn.Parameter;
  /** b0, b1, b2. */
  denominator: nn.Parameter;

  constructor(init: { numerator: readonly number[]; denominator: readonly number[] } = RATIONAL_INIT, opts: { dtype?: DType } = {}) {
    super();
    if (init.numerator.length !== 4) throw new OpError('Rational', `numerator must hold 4 coefficients (a0..a3), got ${init.numerator.length}`);
    if (init.denominator.length !== 3) throw new OpError('Rational', `denominator must hold 3 coefficients (b0..b2), got ${init.denominator.length}`);
    // created in the target dtype: a float32 round trip would move the init by ~1e-8
    this.numerator = new nn.Parameter(tensor([...init.numerator], { dtype: opts.dtype }));
    this.denominator = new nn.Parameter(tensor([...init.denominator], { dtype: opts.dtype }));
  }

  forward(x: Tensor): Tensor {
    const a = (i: number) => this.numerator.narrow(0, i, 1).to(x.dtype);
    const b = (i: number) => this.denominator.narrow(0, i, 1).to(x.dtype);
    // Horner form: fewer ops and better rounding than the expanded polynomial
    const num = x.mul(a(3)).add(a(2)).mul(x).add(a(1)).mul(x).add(a(0));
    const den = x.mul(b(2)).add(b(1)).mul(x).add(b(0));
    return num.div(den);
  }
}

/** A correction term: C(u, S) -> [B, d], where S = S_dt(u) is the base increment of the step. */
export interface Corrector {
  correct(u: Tensor, increment: Tensor): Tensor;
  parameters(): Iterable<nn.Parameter>;
}

export type Activation = 'rational' | 'relu' | 'tanh';

export interface NeurVecOptions {
  /** Hidden width; NeurVec uses 1024. */
  hidden?: number;
  activation?: Activation;
  generator?: Generator;
  /** Parameter dtype (float32 by default). */
  dtype?: DType;
}

/** NeurVec's corrector N(u) = fc2(act(fc1(u))), PyTorch-default Linear initialisation. */
export class NeurVecCorrector extends nn.Module implements Corrector {
  fc1: nn.Linear;
  act: nn.Module;
  fc2: nn.Linear;
  readonly dim: number;

  constructor(dim: number, opts: NeurVecOptions = {}) {
    super();
    const { hidden = 1024, activation = 'rational', generator, dtype } = opts;
    if (!Number.isInteger(dim) || dim < 1) throw new OpError('NeurVecCorrector', `dim must be a positive integer, got ${dim}`);
    this.dim = dim;
    this.fc1 = new nn.Linear(dim, hidden, { generator, dtype });
    this.act = activation === 'rational' ? new Rational(RATIONAL_INIT, { dtype }) : activation === 'relu' ? new nn.ReLU() : new nn.Tanh();
    this.fc2 = new nn.Linear(hidden, dim, { generator, dtype });
  }

  forward(u: Tensor): Tensor {
    checkState('NeurVecCorrector', u, this.dim);
    return this.fc2.call(this.act.call(this.fc1.call(u))) as Tensor;
  }

  correct(u: Tensor): Tensor {
    return this.forward(u);
  }
}

export type Combine = 'add' | 'mul' | 'residualMul';
export type AttentionInput = 'state' | 'correction' | 'increment';

export interface AttSolverOptions {
  /** How N and A combine: 'add' N + A (AttNS), 'mul' N ⊙ A (AttNS-m), 'residualMul' N ⊙ (1 + A). */
  combine?: Combine;
  /** What the attention sees: u, N(u) or S_dt(u). */
  input?: AttentionInput;
  /** Attention hidden width; max(d, 16) by default (SE's reduction ratio makes no sense at d = 4). */
  hidden?: number;
  /** Output gate of A: sigmoid (bounded in (0, 1), the SE analogue) or tanh (in (-1, 1), zero at zero). */
  gate?: 'sigmoid' | 'tanh';
  /** The correction network N (any d -> d module); a NeurVecCorrector built from `network*` options by default. */
  network?: nn.Module;
  networkHidden?: number;
  networkActivation?: Activation;
  generator?: Generator;
  /** Parameter dtype (float32 by default). */
  dtype?: DType;
}

/** The attention branch A(z) = gate(fc2(relu(fc1(z)))): [B, d] -> [B, d]. */
export class Attention extends nn.Module {
  fc1: nn.Linear;
  fc2: nn.Linear;
  readonly gate: 'sigmoid' | 'tanh';

  constructor(dim: number, hidden: number, gate: 'sigmoid' | 'tanh', generator?: Generator, dtype?: DType) {
    super();
    this.fc1 = new nn.Linear(dim, hidden, { generator, dtype });
    this.fc2 = new nn.Linear(hidden, dim, { generator, dtype });
    this.gate = gate;
  }

  forward(z: Tensor): Tensor {
    const h = this.fc2.call(this.fc1.call(z).relu()) as Tensor;
    return this.gate === 'sigmoid' ? h.sigmoid() : h.tanh();
  }

  /**
   * An upper bound on the Lipschitz constant of A in the 2-norm: gate' * ||W2||_2 * ||W1||_2, with
   * gate' = 1/4 (sigmoid) or 1 (tanh) and ReLU 1-Lipschitz. `norm: 'frobenius'` gives a looser bound
   * that needs no iteration; 'spectral' (default) runs power iteration to convergence.
   */
  lipschitzBound(norm: 'spectral' | 'frobenius' = 'spectral'): number {
    const n = (w: Tensor) => (norm === 'spectral' ? spectralNorm(w) : frobeniusNorm(w));
    return (this.gate === 'sigmoid' ? 0.25 : 1) * n(this.fc2.weight) * n(this.fc1.weight);
  }
}

/** AttNS corrector: C = N ⊕ A(z) (see `AttSolverOptions` for the reconstructed candidates). */
export class AttSolverCorrector extends nn.Module implements Corrector {
  network: nn.Module;
  attention: Attention;
  readonly combine: Combine;
  readonly input: AttentionInput;
  readonly dim: number;

  constructor(dim: number, opts: AttSolverOptions = {}) {
    super();
    const { combine = 'add', input = 'correction', gate = 'sigmoid', generator, dtype } = opts;
    if (!['add', 'mul', 'residualMul'].includes(combine)) throw new OpError('AttSolverCorrector', `combine must be 'add', 'mul' or 'residualMul', got '${combine}'`);
    if (!['state', 'correction', 'increment'].includes(input)) throw new OpError('AttSolverCorrector', `input must be 'state', 'correction' or 'increment', got '${input}'`);
    this.dim = dim;
    this.combine = combine;
    this.input = input;
    this.network = opts.network ?? new NeurVecCorrector(dim, { hidden: opts.networkHidden, activation: opts.networkActivation, generator, dtype });
    this.attention = new Attention(dim, opts.hidden ?? Math.max(dim, 16), gate, generator, dtype);
  }

  correct(u: Tensor, increment: Tensor): Tensor {
    checkState('AttSolverCorrector', u, this.dim);
    const N = this.network.call(u) as Tensor;
    const z = this.input === 'state' ? u : this.input === 'correction' ? N : increment;
    const A = this.attention.call(z) as Tensor;
    if (this.combine === 'add') return N.add(A);
    if (this.combine === 'mul') return N.mul(A);
    return N.mul(A.add(1));
  }

  forward(u: Tensor, increment: Tensor): Tensor {
    return this.correct(u, increment);
  }

  /** The attention's Lipschitz bound (see `Attention.lipschitzBound`). */
  lipschitzBound(norm: 'spectral' | 'frobenius' = 'spectral'): number {
    return this.attention.lipschitzBound(norm);
  }
}

function frobeniusNorm(w: Tensor): number {
  let s = 0;
  for (const v of Float64Array.from(w.dataSync() as ArrayLike<number>)) s += v * v;
  return Math.sqrt(s);
}

/** Largest singular value by power iteration on W^T W, in float64. */
export function spectralNorm(w: Tensor, iters = 500): number {
  if (w.shape.length !== 2) throw new OpError('spectralNorm', `w must be a matrix, got shape [${w.shape.join(', ')}]`);
  const [m, n] = w.shape as [number, number];
  const a = Float64Array.from(w.dataSync() as ArrayLike<number>);
  let v = new Float64Array(n).fill(1 / Math.sqrt(n));
  let sigma = 0;
  for (let it = 0; it < iters; it++) {
    const av = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += a[i * n + j]! * v[j]!;
      av[i] = s;
    }
    const atav = new Float64Array(n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) atav[j]! += a[i * n + j]! * av[i]!;
    let norm = 0;
    for (const x of atav) norm += x * x;
    norm = Math.sqrt(norm);
    if (norm === 0) return 0;
    const next = Math.sqrt(norm);
    for (let j = 0; j < n; j++) atav[j] = atav[j]! / norm;
    v = atav;
    if (Math.abs(next - sigma) <= 1e-14 * next) return next;
    sigma = next;
  }
  return sigma;
}

export interface HybridSolverOptions {
  F: OdeFunction;
  /** The base scheme S_dt: 'euler', 'rk4', a Butcher tableau or a custom stepper. */
  base?: BaseScheme;
  /** The correction; null gives the plain base solver exactly. */
  corrector?: Corrector | null;
  /** The coarse step the corrector is trained at. */
  dt: number;
}

/** u_{k+1} = u_k + S_dt(u_k) + C(u_k, S_dt(u_k)); the correction is evaluated once per step at u_k. */
export class HybridSolver {
  readonly F: OdeFunction;
  readonly stepper: Stepper;
  readonly corrector: Corrector | null;
  readonly dt: number;

  constructor(opts: HybridSolverOptions) {
    checkIntegrate('HybridSolver', opts.dt, 0, 1);
    this.F = opts.F;
    this.stepper = resolveStepper(opts.base ?? 'rk4');
    this.corrector = opts.corrector ?? null;
    this.dt = opts.dt;
  }

  /** One step of size dt (or `dt` given); `increment` skips recomputing S when it is already known. */
  step(u: Tensor, opts: { dt?: number; increment?: Tensor } = {}): Tensor {
    const S = opts.increment ?? this.stepper(this.F, u, opts.dt ?? this.dt);
    const next = u.add(S);
    return this.corrector ? next.add(this.corrector.correct(u, S)) : next;
  }

  /**
   * [steps + 1, B, d] with out[0] = u0; `coarse` = k runs k hybrid steps of dt / k per saved point.
   * Never throws on a blow-up: non-finite states propagate (see `explosionTime`).
   */
  rollout(u0: Tensor, steps: number, opts: { coarse?: number } = {}): Tensor {
    const coarse = opts.coarse ?? 1;
    checkIntegrate('HybridSolver.rollout', this.dt, steps, coarse);
    if (u0.shape.length !== 2) throw new OpError('HybridSolver.rollout', `u0 must have shape [B, d], got [${u0.shape.join(', ')}]`);
    const out: Tensor[] = [u0];
    let u = u0;
    for (let s = 0; s < steps; s++) {
      for (let k = 0; k < coarse; k++) u = this.step(u, { dt: this.dt / coarse });
      out.push(u);
    }
    return stack(out, 0);
  }
}

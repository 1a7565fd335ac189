/**
 * Seeded ODE trajectory data: classical fourth-order Runge-Kutta in float64 at a fine step, sampled
 * every `substeps` steps, returned as `[T, B, d]` tensors (time-major, like torchdiffeq's `odeint`)
 * with their time grid. Built-in systems: Lorenz (1963), Van der Pol, and a damped harmonic
 * oscillator; any other system is a function `f(t, u) -> du/dt`, per trajectory or batched.
 */
import { type Backend, type FloatDType, Generator, OpError, type Tensor, tensor } from '@methodzoo/core';

/** du/dt of one state `u` (length d; a view, not to be modified). The result is copied at once, so a reused buffer is fine. */
export type OdeFunction = (t: number, u: Float64Array) => Float64Array | readonly number[];
/** du/dt of B states stored back to back in `u` (length B*d); writes the result into `out`. */
export type BatchedOdeFunction = (t: number, u: Float64Array, out: Float64Array, batch: number) => void;

export interface OdeSystem {
  name: string;
  /** State dimension d. */
  dim: number;
  /** Right-hand side for a whole batch. */
  f: BatchedOdeFunction;
  /** Draws one initial state (length d) from the system's default distribution. */
  sampleInitial(g: Generator): Float64Array;
}

/** Wraps a per-trajectory right-hand side as an `OdeSystem`. */
export function odeSystem(spec: { name?: string; dim: number; f: OdeFunction; sampleInitial?: (g: Generator) => Float64Array }): OdeSystem {
  const { dim, f } = spec;
  if (!Number.isInteger(dim) || dim < 1) throw new OpError('odeSystem', `dim must be a positive integer, got ${dim}`);
  return {
    name: spec.name ?? 'custom',
    dim,
    f: (t, u, out, batch) => {
      for (let b = 0; b < batch; b++) {
        const du = f(t, u.subarray(b * dim, (b + 1) * dim));
        if (du.length !== dim) throw new OpError('odeSystem', `f returned ${du.length} values for a state of dimension ${dim}`);
        for (let k = 0; k < dim; k++) out[b * dim + k] = du[k]!;
      }
    },
    sampleInitial: spec.sampleInitial ?? ((g) => Float64Array.from({ length: dim }, () => g.normal())),
  };
}

/**
 * Lorenz (1963): x' = sigma (y - x), y' = x (rho - z) - y, z' = x y - beta z; chaotic at the classic
 * sigma = 10, rho = 28, beta = 8/3. Initial states: x, y uniform in [-15, 15], z uniform in [5, 45].
 */
export function lorenz(params: { sigma?: number; rho?: number; beta?: number } = {}): OdeSystem {
  const { sigma = 10, rho = 28, beta = 8 / 3 } = params;
  return {
    name: 'lorenz',
    dim: 3,
    f: (_t, u, out, batch) => {
      for (let b = 0; b < batch * 3; b += 3) {
        const x = u[b]!;
        const y = u[b + 1]!;
        const z = u[b + 2]!;
        out[b] = sigma * (y - x);
        out[b + 1] = x * (rho - z) - y;
        out[b + 2] = x * y - beta * z;
      }
    },
    sampleInitial: (g) => Float64Array.of(-15 + 30 * g.random(), -15 + 30 * g.random(), 5 + 40 * g.random()),
  };
}

/** Van der Pol: x' = v, v' = mu (1 - x^2) v - x; a limit cycle for mu > 0. Initial states uniform in [-3, 3]^2. */
export function vanDerPol(params: { mu?: number } = {}): OdeSystem {
  const { mu = 1 } = params;
  return {
    name: 'van-der-pol',
    dim: 2,
    f: (_t, u, out, batch) => {
      for (let b = 0; b < batch * 2; b += 2) {
        const x = u[b]!;
        const v = u[b + 1]!;
        out[b] = v;
        out[b + 1] = mu * (1 - x * x) * v - x;
      }
    },
    sampleInitial: (g) => Float64Array.of(-3 + 6 * g.random(), -3 + 6 * g.random()),
  };
}

/**
 * Damped harmonic oscillator: x' = v, v' = -omega^2 x - 2 zeta omega v. Its energy
 * E = (v^2 + omega^2 x^2) / 2 never increases (dE/dt = -2 zeta omega v^2). Initial states uniform in
 * [-2, 2]^2.
 */
export function dampedOscillator(params: { omega?: number; zeta?: number } = {}): OdeSystem {
  const { omega = 1, zeta = 0.1 } = params;
  if (!(zeta >= 0)) throw new OpError('dampedOscillator', `zeta must be non-negative, got ${zeta}`);
  return {
    name: 'damped-oscillator',
    dim: 2,
    f: (_t, u, out, batch) => {
      for (let b = 0; b < batch * 2; b += 2) {
        const x = u[b]!;
        const v = u[b + 1]!;
        out[b] = v;
        out[b + 1] = -omega * omega * x - 2 * zeta * omega * v;
      }
    },
    sampleInitial: (g) => Float64Array.of(-2 + 4 * g.random(), -2 + 4 * g.random()),
  };
}

/** Energy (v^2 + omega^2 x^2) / 2 of damped-oscillator states `[..., 2]` stored flat. */
export function oscillatorEnergy(states: ArrayLike<number>, omega = 1): Float64Array {
  const out = new Float64Array(states.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = 0.5 * (states[2 * i + 1]! ** 2 + omega * omega * states[2 * i]! ** 2);
  return out;
}

export interface IntegrateOptions {
  /** Start time; 0 by default. */
  t0?: number;
  /** RK4 step. */
  dt: number;
  /** Number of saved points T, the first being the initial state. */
  steps: number;
  /** RK4 steps between saved points; 1 by default. */
  substeps?: number;
}

/**
 * Integrates B trajectories with classical RK4 in float64. `y0` holds the B initial states back to
 * back (length B*d). Returns the saved times (length T) and states (length T*B*d, time-major).
 */
export function rk4(system: Pick<OdeSystem, 'dim' | 'f'>, y0: Float64Array, opts: IntegrateOptions): { t: Float64Array; y: Float64Array } {
  const { dim, f } = system;
  const { t0 = 0, dt, steps, substeps = 1 } = opts;
  if (!(dt > 0) || !Number.isFinite(dt)) throw new OpError('rk4', `dt must be a positive finite number, got ${dt}`);
  if (!Number.isInteger(steps) || steps < 1) throw new OpError('rk4', `steps must be a positive integer, got ${steps}`);
  if (!Number.isInteger(substeps) || substeps < 1) throw new OpError('rk4', `substeps must be a positive integer, got ${substeps}`);
  if (y0.length === 0 || y0.length % dim !== 0) throw new OpError('rk4', `y0 has ${y0.length} values, expected a positive multiple of the state dimension ${dim}`);
  const batch = y0.length / dim;
  const n = y0.length;
  const u = Float64Array.from(y0);
  const k1 = new Float64Array(n);
  const k2 = new Float64Array(n);
  const k3 = new Float64Array(n);
  const k4 = new Float64Array(n);
  const tmp = new Float64Array(n);
  const times = new Float64Array(steps);
  const ys = new Float64Array(steps * n);
  let t = t0;
  let taken = 0;
  for (let s = 0; s < steps; s++) {
    if (s > 0) {
      for (let k = 0; k < substeps; k++) {
        f(t, u, k1, batch);
        for (let i = 0; i < n; i++) tmp[i] = u[i]! + 0.5 * dt * k1[i]!;
        f(t + 0.5 * dt, tmp, k2, batch);
        for (let i = 0; i < n; i++) tmp[i] = u[i]! + 0.5 * dt * k2[i]!;
        f(t + 0.5 * dt, tmp, k3, batch);
        for (let i = 0; i < n; i++) tmp[i] = u[i]! + dt * k3[i]!;
        f(t + dt, tmp, k4, batch);
        for (let i = 0; i < n; i++) u[i] = u[i]! + (dt / 6) * (k1[i]! + 2 * k2[i]! + 2 * k3[i]! + k4[i]!);
        taken++;
        // t0 + taken*dt rather than repeated += keeps the grid free of accumulated rounding
        t = t0 + taken * dt;
      }
      for (let i = 0; i < n; i++) {
        if (!Number.isFinite(u[i]!)) throw new OpError('rk4', `the solution became non-finite at t = ${t} (trajectory ${Math.floor(i / dim)}); reduce dt`);
      }
    }
    times[s] = t;
    ys.set(u, s * n);
  }
  return { t: times, y: ys };
}

export interface TrajectoryOptions {
  /** Number of trajectories B; 1 by default. */
  batch?: number;
  /** Saved points per trajectory T. */
  steps: number;
  /** Time between saved points. */
  dt: number;
  /** RK4 steps per saved interval (the integration step is dt / substeps); 10 by default. */
  substeps?: number;
  /** Saved intervals integrated and dropped before the first saved point (transient removal); 0 by default. */
  burnIn?: number;
  /** Initial states `[B, d]` (back to back); drawn from the system's sampler when omitted. */
  y0?: Float64Array | readonly (readonly number[])[];
  /** Standard deviation of Gaussian noise added to the returned observations `y` (not to `clean`); 0 by default. */
  noise?: number;
  generator?: Generator;
  /** Seed of a fresh generator when `generator` is omitted; 0 by default. */
  seed?: number;
  /** dtype of the returned tensors; float32 by default. */
  dtype?: FloatDType;
  backend?: Backend | string;
}

export interface Trajectories {
  /** Saved times `[T]`, starting at 0 (after any burn-in). */
  t: Tensor;
  /** Observations `[T, B, d]` (with `noise` added). */
  y: Tensor;
  /** Noise-free states `[T, B, d]`. */
  clean: Tensor;
  /** Initial states `[B, d]` (the state at t = 0 after burn-in). */
  y0: Tensor;
}

/** B seeded trajectories of `system`, integrated by `rk4` at step dt / substeps and saved every dt. */
export function odeTrajectories(system: OdeSystem, opts: TrajectoryOptions): Trajectories {
  const { dim } = system;
  const g = opts.generator ?? new Generator(opts.seed ?? 0);
  const substeps = opts.substeps ?? 10;
  const burnIn = opts.burnIn ?? 0;
  if (!Number.isInteger(burnIn) || burnIn < 0) throw new OpError('odeTrajectories', `burnIn must be a non-negative integer, got ${burnIn}`);
  let start: Float64Array;
  if (opts.y0 !== undefined) {
    start = opts.y0 instanceof Float64Array ? Float64Array.from(opts.y0) : Float64Array.from(opts.y0.flat());
    if (start.length % dim !== 0 || start.length === 0) throw new OpError('odeTrajectories', `y0 has ${start.length} values, expected [B, ${dim}]`);
    if (opts.batch !== undefined && opts.batch * dim !== start.length) throw new OpError('odeTrajectories', `batch is ${opts.batch} but y0 holds ${start.length / dim} states`);
  } else {
    const batch = opts.batch ?? 1;
    if (!Number.isInteger(batch) || batch < 1) throw new OpError('odeTrajectories', `batch must be a positive integer, got ${batch}`);
    start = new Float64Array(batch * dim);
    for (let b = 0; b < batch; b++) start.set(system.sampleInitial(g), b * dim);
  }
  const batch = start.length / dim;
  const h = opts.dt / substeps;
  if (burnIn > 0) {
    const warm = rk4(system, start, { dt: h, steps: 2, substeps: burnIn * substeps });
    start = warm.y.slice(batch * dim);
  }
  const { t, y } = rk4(system, start, { dt: h, steps: opts.steps, substeps });
  const noise = opts.noise ?? 0;
  if (!(noise >= 0)) throw new OpError('odeTrajectories', `noise must be non-negative, got ${noise}`);
  const observed = Float64Array.from(y);
  if (noise > 0) for (let i = 0; i < observed.length; i++) observed[i]! += noise * g.normal();
  const dtype = opts.dtype ?? 'float32';
  const shape = [opts.steps, batch, dim];
  return {
    t: tensor(t, { dtype, backend: opts.backend }),
    y: tensor(observed, { shape, dtype, backend: opts.backend }),
    clean: tensor(y, { shape, dtype, backend: opts.backend }),
    y0: tensor(start, { shape: [batch, dim], dtype, backend: opts.backend }),
  };
}

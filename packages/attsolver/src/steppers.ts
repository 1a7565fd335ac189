/**
 * Base one-step schemes S_dt(u) of arXiv:2302.10184 (Sec. 2: u_{k+1} = u_k + S_dt(u_k)): Euler, the
 * classical RK4 and any explicit Butcher tableau, a differentiable `integrate` with coarse sub-steps,
 * and the float64 fine-step reference generator (the NeurVec data protocol: RK4 at dt / coarse,
 * saved every dt).
 */
import { noGrad, OpError, scope, stack, tensor, type Tensor } from '@methodzoo/core';
import { rk4 as rk4Float64 } from '@methodzoo/datasets';
import { checkState, type OdeFunction, type OdeSystem } from './ode.js';

/** The increment S_dt(u) of one step (not the new state): [B, d] -> [B, d]. */
export type Stepper = (F: OdeFunction, u: Tensor, dt: number) => Tensor;

/** Explicit Runge-Kutta scheme: stage i evaluates F(u + dt sum_{j<i} a[i][j] k_j); S = dt sum b_i k_i. */
export interface ButcherTableau {
  name?: string;
  /** Strictly lower-triangular stage coefficients, one row per stage (row 0 is empty). */
  a: readonly (readonly number[])[];
  b: readonly number[];
}

export const EULER_TABLEAU: ButcherTableau = { name: 'euler', a: [[]], b: [1] };
export const RK4_TABLEAU: ButcherTableau = { name: 'rk4', a: [[], [0.5], [0, 0.5], [0, 0, 1]], b: [1 / 6, 1 / 3, 1 / 3, 1 / 6] };
export const MIDPOINT_TABLEAU: ButcherTableau = { name: 'midpoint', a: [[], [0.5]], b: [0, 1] };
export const HEUN_TABLEAU: ButcherTableau = { name: 'heun', a: [[], [1]], b: [0.5, 0.5] };

/** Forward Euler: S = dt F(u). */
export const euler: Stepper = (F, u, dt) => F(u).mul(dt);

/** Classical RK4: S = dt (k1/6 + k2/3 + k3/3 + k4/6). */
export const rk4: Stepper = (F, u, dt) => {
  const k1 = F(u);
  const k2 = F(u.add(k1.mul(dt / 2)));
  const k3 = F(u.add(k2.mul(dt / 2)));
  const k4 = F(u.add(k3.mul(dt)));
  return k1.div(6).add(k2.div(3)).add(k3.div(3)).add(k4.div(6)).mul(dt);
};

/** A stepper from an explicit Butcher tableau; validates that `a` is strictly lower triangular. */
export function butcherStepper(tab: ButcherTableau): Stepper {
  const s = tab.b.length;
  if (s < 1) throw new OpError('butcherStepper', 'b must hold at least one weight');
  if (tab.a.length !== s) throw new OpError('butcherStepper', `a must have ${s} rows (one per stage), got ${tab.a.length}`);
  tab.a.forEach((row, i) => {
    if (row.length > i) throw new OpError('butcherStepper', `a[${i}] must have at most ${i} entries (explicit scheme), got ${row.length}`);
  });
  return (F, u, dt) => {
    const ks: Tensor[] = [];
    for (let i = 0; i < s; i++) {
      let x = u;
      tab.a[i]!.forEach((aij, j) => {
        if (aij !== 0) x = x.add(ks[j]!.mul(dt * aij));
      });
      ks.push(F(x));
    }
    let acc: Tensor | null = null;
    tab.b.forEach((bi, i) => {
      if (bi === 0) return;
      const term = ks[i]!.mul(bi);
      acc = acc === null ? term : acc.add(term);
    });
    return (acc ?? u.mul(0)).mul(dt);
  };
}

export type BaseScheme = 'euler' | 'rk4' | ButcherTableau | Stepper;

export function resolveStepper(base: BaseScheme): Stepper {
  if (base === 'euler') return euler;
  if (base === 'rk4') return rk4;
  if (typeof base === 'function') return base;
  return butcherStepper(base);
}

export interface IntegrateOptions {
  /** Saved-point spacing. */
  dt: number;
  /** Saved steps: the output holds steps + 1 states, the first being u0. */
  steps: number;
  /** Sub-steps of dt / coarse between saved points (NeurVec's `coarse`); 1 by default. */
  coarse?: number;
  /** Base scheme; RK4 by default. */
  method?: BaseScheme;
}

export function checkIntegrate(op: string, dt: number, steps: number, coarse: number): void {
  if (!(dt > 0) || !Number.isFinite(dt)) throw new OpError(op, `dt must be a positive finite number, got ${dt}`);
  if (!Number.isInteger(steps) || steps < 0) throw new OpError(op, `steps must be a non-negative integer, got ${steps}`);
  if (!Number.isInteger(coarse) || coarse < 1) throw new OpError(op, `coarse must be a positive integer, got ${coarse}`);
}

/**
 * Integrates du/dt = F(u) from u0 [B, d]: returns [steps + 1, B, d] with out[0] = u0. Differentiable
 * (gradients flow to whatever F closes over); never throws on a non-finite state, so a blow-up shows
 * as NaN/Inf in the output (see `explosionTime`).
 */
export function integrate(F: OdeFunction, u0: Tensor, opts: IntegrateOptions): Tensor {
  const { dt, steps, coarse = 1, method = 'rk4' } = opts;
  checkIntegrate('integrate', dt, steps, coarse);
  if (u0.shape.length !== 2) throw new OpError('integrate', `u0 must have shape [B, d], got [${u0.shape.join(', ')}]`);
  const S = resolveStepper(method);
  const h = dt / coarse;
  const out: Tensor[] = [u0];
  let u = u0;
  for (let s = 0; s < steps; s++) {
    for (let k = 0; k < coarse; k++) u = u.add(S(F, u, h));
    out.push(u);
  }
  return stack(out, 0);
}

export interface ReferenceOptions {
  dt: number;
  steps: number;
  /** Fine sub-steps per saved step (the reference runs RK4 at dt / coarse). */
  coarse: number;
}

/**
 * The fine reference: RK4 in float64 at dt / coarse, saved every dt, [steps + 1, B, d] float64. Uses
 * the system's float64 array path `f` when it has one (about 100x faster than tensor ops), else
 * integrates `F` with tensors in float64 without a graph.
 */
export function referenceTrajectories(system: OdeSystem, u0: Tensor, opts: ReferenceOptions): Tensor {
  const { dt, steps, coarse } = opts;
  checkIntegrate('referenceTrajectories', dt, steps, coarse);
  checkState('referenceTrajectories', u0, system.dim);
  const B = u0.shape[0]!;
  const d = system.dim;
  if (system.f) {
    const y0 = Float64Array.from(u0.dataSync() as ArrayLike<number>);
    const { y } = rk4Float64({ dim: d, f: system.f }, y0, { dt: dt / coarse, steps: steps + 1, substeps: coarse });
    return tensor(y, { dtype: 'float64' }).reshape([steps + 1, B, d]);
  }
  return noGrad(() =>
    scope(() => {
      const states: Tensor[] = [];
      let u = u0.double();
      states.push(u);
      for (let s = 0; s < steps; s++) {
        for (let k = 0; k < coarse; k++) u = u.add(rk4(system.F, u, dt / coarse));
        states.push(u);
      }
      return stack(states, 0);
    }),
  );
}

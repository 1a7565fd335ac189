/**
 * Evaluation metrics of arXiv:2302.10184 (Sec. 4): rollout MSE against time, the numerical-explosion
 * time, energy drift, and the speed-up of the coarse hybrid solver over the fine solver at equal error.
 * All read trajectories [T, B, d] and never throw on non-finite values.
 */
import { noGrad, OpError, type Tensor } from '@methodzoo/core';

function check3(op: string, t: Tensor): [number, number, number] {
  if (t.shape.length !== 3) throw new OpError(op, `trajectory must have shape [T, B, d], got [${t.shape.join(', ')}]`);
  return t.shape as [number, number, number];
}

/** MSE over batch and dimensions at each time: length T; Infinity where a value is non-finite. */
export function rolloutMse(pred: Tensor, ref: Tensor): number[] {
  const [T, B, d] = check3('rolloutMse', pred);
  const r = check3('rolloutMse', ref);
  if (r[0] !== T || r[1] !== B || r[2] !== d) throw new OpError('rolloutMse', `ref must have shape [${T}, ${B}, ${d}] like pred, got [${r.join(', ')}]`);
  const p = pred.dataSync() as ArrayLike<number>;
  const q = ref.dataSync() as ArrayLike<number>;
  const n = B * d;
  const out: number[] = [];
  for (let t = 0; t < T; t++) {
    let s = 0;
    for (let i = t * n; i < (t + 1) * n; i++) {
      const e = p[i]! - q[i]!;
      s += e * e;
    }
    out.push(Number.isFinite(s) ? s / n : Infinity);
  }
  return out;
}

/**
 * Per trajectory, the first time index at which the state is non-finite or its max-norm exceeds
 * `threshold`; -1 when it never explodes. Length B.
 */
export function explosionTime(traj: Tensor, threshold = 1e6): number[] {
  const [T, B, d] = check3('explosionTime', traj);
  const x = traj.dataSync() as ArrayLike<number>;
  const out = new Array<number>(B).fill(-1);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T && out[b] === -1; t++) {
      for (let k = 0; k < d; k++) {
        const v = x[(t * B + b) * d + k]!;
        if (!Number.isFinite(v) || Math.abs(v) > threshold) {
          out[b] = t;
          break;
        }
      }
    }
  }
  return out;
}

/** max over the batch of |E(u_t) - E(u_0)| / |E(u_0)| at each time (NaN-safe: non-finite -> Infinity). */
export function energyDrift(energy: (u: Tensor) => Tensor, traj: Tensor): number[] {
  const [T, B, d] = check3('energyDrift', traj);
  const e = noGrad(() => energy(traj.reshape([T * B, d])));
  const v = e.dataSync() as ArrayLike<number>;
  const out: number[] = [];
  for (let t = 0; t < T; t++) {
    let m = 0;
    for (let b = 0; b < B; b++) {
      const rel = Math.abs(v[t * B + b]! - v[b]!) / Math.abs(v[b]!);
      m = Number.isFinite(rel) ? Math.max(m, rel) : Infinity;
    }
    out.push(m);
  }
  e.dispose();
  return out;
}

export interface CostPoint {
  /** Error of the run (e.g. mean rollout MSE). */
  error: number;
  /** Wall-clock seconds (or any cost unit shared with the hybrid run). */
  seconds: number;
}

/**
 * Speed-up of the hybrid solver over a family of plain solvers (e.g. RK4 at dt / k for several k):
 * the cost at which the plain solver reaches the hybrid's error, log-log interpolated between the two
 * bracketing plain runs, divided by the hybrid's cost. null when no plain run is as accurate.
 */
export function speedupAtEqualError(hybrid: CostPoint, plain: readonly CostPoint[]): number | null {
  const pts = plain.filter((p) => Number.isFinite(p.error) && p.error > 0).sort((a, b) => a.seconds - b.seconds);
  const first = pts.findIndex((p) => p.error <= hybrid.error);
  if (first < 0) return null;
  const hi = pts[first]!;
  let cost = hi.seconds;
  const lo = pts[first - 1];
  if (lo && lo.error > hi.error && hybrid.error > 0) {
    const f = (Math.log(lo.error) - Math.log(hybrid.error)) / (Math.log(lo.error) - Math.log(hi.error));
    cost = Math.exp(Math.log(lo.seconds) + f * (Math.log(hi.seconds) - Math.log(lo.seconds)));
  }
  return cost / hybrid.seconds;
}

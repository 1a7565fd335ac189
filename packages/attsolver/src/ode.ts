/**
 * ODE systems du/dt = F(u) on a batched state u: [B, d] (arXiv:2302.10184, Sec. 2 and the NeurVec
 * benchmarks it reuses: the spring chain and the elastic pendulum, plus Lorenz and Van der Pol).
 * Each built-in carries `F` (tensor ops, differentiable, any dtype) and `f` (the same right-hand side
 * on float64 arrays, the fast path of the fine reference solver), and an energy where one exists.
 */
import { cat, grad, OpError, tensor, type Tensor, zeros } from '@methodzoo/core';
import type { BatchedOdeFunction } from '@methodzoo/datasets';

/** du/dt of a batch of states: [B, d] -> [B, d]. Any differentiable tensor function qualifies. */
export type OdeFunction = (u: Tensor) => Tensor;

export interface OdeSystem {
  name: string;
  /** State dimension d. */
  dim: number;
  F: OdeFunction;
  /** The same right-hand side on float64 arrays of B states back to back (fast reference path). */
  f?: BatchedOdeFunction;
  /** Conserved energy per state: [B, d] -> [B], when the system has one. */
  energy?: (u: Tensor) => Tensor;
}

/** Throws unless `u` is [B, dim]; the message names d. */
export function checkState(op: string, u: Tensor, dim: number): void {
  if (u.shape.length !== 2 || u.shape[1] !== dim) {
    throw new OpError(op, `state u must have shape [B, ${dim}] (d = ${dim}), got [${u.shape.join(', ')}]`);
  }
}

export interface SpringChainParams {
  /** Spring constants k_0..k_n (n + 1 springs, walls at both ends). */
  k: readonly number[];
  /** Masses m_1..m_n. */
  m: readonly number[];
}

/**
 * Spring chain of n masses between two fixed walls (NeurVec's 20-mass benchmark). State
 * u = [p (n), q (n)], momenta first. With d_j = q_j - q_{j-1} (q_0 = q_{n+1} = 0, j = 1..n+1):
 *   dp_i/dt = -(k_{i-1} d_i - k_i d_{i+1}),  dq_i/dt = p_i / m_i,
 *   H = sum p_i^2 / (2 m_i) + sum_j k_{j-1} d_j^2 / 2.
 */
export function springChain(params: SpringChainParams): OdeSystem {
  const n = params.m.length;
  if (n < 1) throw new OpError('springChain', 'm must hold at least one mass');
  if (params.k.length !== n + 1) throw new OpError('springChain', `k must hold n + 1 = ${n + 1} spring constants, got ${params.k.length}`);
  const kArr = Float64Array.from(params.k);
  const mArr = Float64Array.from(params.m);
  const diffs = (u: Tensor): Tensor => {
    const b = u.shape[0]!;
    const wall = zeros([b, 1], { dtype: u.dtype });
    const q = cat([wall, u.narrow(1, n, n), wall], 1);
    return q.narrow(1, 1, n + 1).sub(q.narrow(1, 0, n + 1));
  };
  const F: OdeFunction = (u) => {
    checkState('springChain', u, 2 * n);
    const k = tensor(kArr, { dtype: u.dtype });
    const m = tensor(mArr, { dtype: u.dtype });
    const kd = diffs(u).mul(k);
    const dp = kd.narrow(1, 1, n).sub(kd.narrow(1, 0, n));
    const dq = u.narrow(1, 0, n).div(m);
    return cat([dp, dq], 1);
  };
  const f: BatchedOdeFunction = (_t, u, out, batch) => {
    const d = 2 * n;
    for (let b = 0; b < batch; b++) {
      const o = b * d;
      for (let i = 0; i < n; i++) {
        const qi = u[o + n + i]!;
        const qPrev = i > 0 ? u[o + n + i - 1]! : 0;
        const qNext = i < n - 1 ? u[o + n + i + 1]! : 0;
        out[o + i] = -(kArr[i]! * (qi - qPrev) + kArr[i + 1]! * (qi - qNext));
        out[o + n + i] = u[o + i]! / mArr[i]!;
      }
    }
  };
  const energy = (u: Tensor): Tensor => {
    checkState('springChain.energy', u, 2 * n);
    const p = u.narrow(1, 0, n);
    const kinetic = p.mul(p).div(tensor(mArr, { dtype: u.dtype }).mul(2)).sum(1);
    const d = diffs(u);
    const potential = d.mul(d).mul(tensor(kArr, { dtype: u.dtype })).sum(1).mul(0.5);
    return kinetic.add(potential);
  };
  return { name: 'spring-chain', dim: 2 * n, F, f, energy };
}

export interface ElasticPendulumParams {
  l0?: number;
  g?: number;
  m?: number;
  k?: number;
}

/**
 * Elastic (spring) pendulum, chaotic (NeurVec's constants l0 = 10, g = 9.81, m = 1, k = 40).
 * State u = [theta, r, theta', r']:
 *   theta'' = (-g sin theta - 2 theta' r') / r,  r'' = r theta'^2 - (k/m)(r - l0) + g cos theta,
 *   E = m (r'^2 + r^2 theta'^2) / 2 - m g r cos theta + k (r - l0)^2 / 2.
 */
export function elasticPendulum(params: ElasticPendulumParams = {}): OdeSystem {
  const { l0 = 10, g = 9.81, m = 1, k = 40 } = params;
  const F: OdeFunction = (u) => {
    checkState('elasticPendulum', u, 4);
    const th = u.narrow(1, 0, 1);
    const r = u.narrow(1, 1, 1);
    const w = u.narrow(1, 2, 1);
    const v = u.narrow(1, 3, 1);
    const ddth = th.sin().mul(-g).sub(w.mul(v).mul(2)).div(r);
    const ddr = r.mul(w).mul(w).sub(r.sub(l0).mul(k / m)).add(th.cos().mul(g));
    return cat([w, v, ddth, ddr], 1);
  };
  const f: BatchedOdeFunction = (_t, u, out, batch) => {
    for (let o = 0; o < batch * 4; o += 4) {
      const th = u[o]!;
      const r = u[o + 1]!;
      const w = u[o + 2]!;
      const v = u[o + 3]!;
      out[o] = w;
      out[o + 1] = v;
      out[o + 2] = (-g * Math.sin(th) - 2 * w * v) / r;
      out[o + 3] = r * w * w - (k / m) * (r - l0) + g * Math.cos(th);
    }
  };
  const energy = (u: Tensor): Tensor => {
    checkState('elasticPendulum.energy', u, 4);
    const th = u.narrow(1, 0, 1);
    const r = u.narrow(1, 1, 1);
    const w = u.narrow(1, 2, 1);
    const v = u.narrow(1, 3, 1);
    const kin = v.mul(v).add(r.mul(r).mul(w).mul(w)).mul(m / 2);
    const pot = r.mul(th.cos()).mul(-m * g).add(r.sub(l0).square().mul(k / 2));
    return kin.add(pot).reshape([u.shape[0]!]);
  };
  return { name: 'elastic-pendulum', dim: 4, F, f, energy };
}

/** Lorenz (1963): x' = sigma (y - x), y' = x (rho - z) - y, z' = x y - beta z. */
export function lorenz(params: { sigma?: number; rho?: number; beta?: number } = {}): OdeSystem {
  const { sigma = 10, rho = 28, beta = 8 / 3 } = params;
  const F: OdeFunction = (u) => {
    checkState('lorenz', u, 3);
    const x = u.narrow(1, 0, 1);
    const y = u.narrow(1, 1, 1);
    const z = u.narrow(1, 2, 1);
    return cat([y.sub(x).mul(sigma), x.mul(z.neg().add(rho)).sub(y), x.mul(y).sub(z.mul(beta))], 1);
  };
  const f: BatchedOdeFunction = (_t, u, out, batch) => {
    for (let o = 0; o < batch * 3; o += 3) {
      const x = u[o]!;
      const y = u[o + 1]!;
      const z = u[o + 2]!;
      out[o] = sigma * (y - x);
      out[o + 1] = x * (rho - z) - y;
      out[o + 2] = x * y - beta * z;
    }
  };
  return { name: 'lorenz', dim: 3, F, f };
}

/** Van der Pol: x' = v, v' = mu (1 - x^2) v - x. */
export function vanDerPol(params: { mu?: number } = {}): OdeSystem {
  const { mu = 1 } = params;
  const F: OdeFunction = (u) => {
    checkState('vanDerPol', u, 2);
    const x = u.narrow(1, 0, 1);
    const v = u.narrow(1, 1, 1);
    return cat([v, x.mul(x).neg().add(1).mul(v).mul(mu).sub(x)], 1);
  };
  const f: BatchedOdeFunction = (_t, u, out, batch) => {
    for (let o = 0; o < batch * 2; o += 2) {
      const x = u[o]!;
      const v = u[o + 1]!;
      out[o] = v;
      out[o + 1] = mu * (1 - x * x) * v - x;
    }
  };
  return { name: 'van-der-pol', dim: 2, F, f };
}

/**
 * A system from its Hamiltonian H(q, p) on a state laid out as [p (n), q (n)] (`order: 'pq'`, the
 * spring chain's layout) or [q, p]: dq/dt = dH/dp, dp/dt = -dH/dq by autograd. H maps [B, 2n] to [B].
 * Differentiable in u (the gradient is built with createGraph), so a corrector can train through it.
 */
export function hamiltonianSystem(H: (u: Tensor) => Tensor, dim: number, order: 'pq' | 'qp' = 'qp'): OdeSystem {
  if (!Number.isInteger(dim) || dim < 2 || dim % 2 !== 0) throw new OpError('hamiltonianSystem', `dim must be a positive even integer, got ${dim}`);
  const n = dim / 2;
  const F: OdeFunction = (u) => {
    checkState('hamiltonianSystem', u, dim);
    const x = u.requiresGrad ? u : u.detach().requiresGrad_(true);
    const [dH] = gradOf(H(x).sum(), x);
    const pFirst = order === 'pq';
    const dHdp = dH.narrow(1, pFirst ? 0 : n, n);
    const dHdq = dH.narrow(1, pFirst ? n : 0, n);
    return pFirst ? cat([dHdq.neg(), dHdp], 1) : cat([dHdp, dHdq.neg()], 1);
  };
  return { name: 'hamiltonian', dim, F, energy: H };
}

function gradOf(y: Tensor, x: Tensor): [Tensor] {
  const [g] = grad(y, [x], { createGraph: true });
  return [g!];
}

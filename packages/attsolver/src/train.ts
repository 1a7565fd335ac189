/**
 * Training utilities of the AI-hybrid solver, following NeurVec's recipe that AttNS reuses
 * (arXiv:2302.10184, Sec. 4; NeurVec `train_poly_segments.py`): windows of T_train consecutive
 * reference states, a rollout loss MSE(pred[1:], true[1:]) (T_train = 2 is the one-step loss), Adam
 * with a per-iteration cosine lr, and the limited-data regimes (a fraction of the trajectories plus
 * Gaussian noise on the stored states; the paper's noise model is not public, this one is ours).
 */
import { cat, type Generator, indexSelect, mseLoss, noGrad, OpError, optim, randn, randperm, scope, tensor, type Tensor } from '@methodzoo/core';
import type { HybridSolver } from './correctors.js';

/**
 * Windows of `window` consecutive states from trajectories [T, B, d], starting at offsets
 * 0..length-1 (all valid offsets by default): [N, window, d], N = B * length.
 */
export function windowDataset(traj: Tensor, opts: { window: number; length?: number }): Tensor {
  if (traj.shape.length !== 3) throw new OpError('windowDataset', `traj must have shape [T, B, d], got [${traj.shape.join(', ')}]`);
  const [T, B, d] = traj.shape as [number, number, number];
  const { window } = opts;
  if (!Number.isInteger(window) || window < 2 || window > T) throw new OpError('windowDataset', `window must be an integer in [2, T = ${T}], got ${window}`);
  const length = opts.length ?? T - window + 1;
  if (!Number.isInteger(length) || length < 1 || length > T - window + 1) throw new OpError('windowDataset', `length must be an integer in [1, ${T - window + 1}], got ${length}`);
  return noGrad(() => {
    const parts: Tensor[] = [];
    // [window, B, d] slices -> [B, window, d], trajectory-major within each offset
    for (let s = 0; s < length; s++) parts.push(traj.narrow(0, s, window).permute(1, 0, 2));
    return cat(parts, 0).reshape([length * B, window, d]);
  });
}

/** Keeps round(fraction * B) trajectories (at least one) of [T, B, d], chosen by a seeded permutation. */
export function subsampleTrajectories(traj: Tensor, fraction: number, generator: Generator): Tensor {
  if (!(fraction > 0 && fraction <= 1)) throw new OpError('subsampleTrajectories', `fraction must be in (0, 1], got ${fraction}`);
  const B = traj.shape[1]!;
  const keepN = Math.max(1, Math.round(fraction * B));
  const idx = (randperm(B, { generator }).tolist() as number[]).slice(0, keepN).sort((a, b) => a - b);
  return noGrad(() => indexSelect(traj, 1, tensor(idx, { dtype: 'int32' })));
}

/**
 * Adds Gaussian noise sigma * std_k to every stored state, std_k the per-dimension standard deviation
 * over all times and trajectories of [T, B, d]. Seeded.
 */
export function addNoise(traj: Tensor, sigma: number, generator: Generator): Tensor {
  if (!(sigma >= 0)) throw new OpError('addNoise', `sigma must be non-negative, got ${sigma}`);
  return noGrad(() => {
    const d = traj.shape[2]!;
    const std = traj.reshape([-1, d]).std(0);
    return traj.add(randn(traj.shape, { generator, dtype: traj.dtype }).mul(std.mul(sigma)));
  });
}

/** MSE(pred[1:], true[1:]) of a rollout from each window's first state; windows [N, W, d]. */
export function rolloutLoss(solver: HybridSolver, windows: Tensor): Tensor {
  const W = windows.shape[1]!;
  const truth = windows.permute(1, 0, 2);
  const pred = solver.rollout(windows.narrow(1, 0, 1).reshape([windows.shape[0]!, windows.shape[2]!]), W - 1);
  return mseLoss(pred.narrow(0, 1, W - 1), truth.narrow(0, 1, W - 1));
}

/**
 * The one-step loss MSE(u0 + S(u0) + C(u0), u1). `increment` (S_dt(u0), which does not depend on the
 * corrector) can be precomputed once for a fixed dataset, which makes training several times faster.
 */
export function oneStepLoss(solver: HybridSolver, u0: Tensor, u1: Tensor, increment?: Tensor): Tensor {
  return mseLoss(solver.step(u0, { increment }), u1);
}

/** NeurVec's per-iteration cosine decay: lr = lr0 (1 + cos(pi iter / total)) / 2, from lr0 to 0. */
export function cosineLr(iter: number, total: number, lr0: number): number {
  if (!(total > 0)) throw new OpError('cosineLr', `total must be positive, got ${total}`);
  return 0.5 * lr0 * (1 + Math.cos((Math.PI * Math.min(iter, total)) / total));
}

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  /** Peak learning rate of Adam; 1e-3 as in NeurVec. */
  lr?: number;
  generator: Generator;
  /**
   * Multiplies the loss that is back-propagated (NeurVec's pendulum script uses 1e6). Adam is
   * invariant to this scale except through eps = 1e-8, which otherwise damps the steps once the
   * gradients fall to ~1e-8, i.e. exactly when the one-step error approaches the base scheme's.
   * The returned losses are unscaled.
   */
  lossScale?: number;
  /** Called after each epoch with the mean (unscaled) training loss. */
  onEpoch?: (epoch: number, loss: number) => void;
}

/**
 * Trains the solver's corrector on one-step pairs (u0 [N, d], u1 [N, d]) with Adam and the
 * per-iteration cosine lr. S_dt(u0) is computed once. Returns the mean loss of each epoch.
 */
export function trainOneStep(solver: HybridSolver, u0: Tensor, u1: Tensor, opts: TrainOptions): number[] {
  if (!solver.corrector) throw new OpError('trainOneStep', 'the solver has no corrector to train');
  const { epochs, batchSize, lr = 1e-3, generator, onEpoch, lossScale = 1 } = opts;
  if (!(lossScale > 0) || !Number.isFinite(lossScale)) throw new OpError('trainOneStep', `lossScale must be a positive finite number, got ${lossScale}`);
  const N = u0.shape[0]!;
  const params = [...solver.corrector.parameters()];
  const opt = new optim.Adam(params, { lr });
  const S = noGrad(() => solver.stepper(solver.F, u0, solver.dt));
  const perEpoch = Math.ceil(N / batchSize);
  const total = epochs * perEpoch;
  const losses: number[] = [];
  let iter = 0;
  for (let e = 0; e < epochs; e++) {
    const perm = randperm(N, { generator });
    let sum = 0;
    for (let i = 0; i < perEpoch; i++) {
      const l = scope(() => {
        const idx = perm.narrow(0, i * batchSize, Math.min(batchSize, N - i * batchSize));
        for (const g of opt.paramGroups) g.lr = cosineLr(iter, total, lr);
        opt.zeroGrad();
        const loss = oneStepLoss(solver, indexSelect(u0, 0, idx), indexSelect(u1, 0, idx), indexSelect(S, 0, idx));
        (lossScale === 1 ? loss : loss.mul(lossScale)).backward();
        opt.step();
        return loss.item();
      });
      iter++;
      sum += l;
    }
    losses.push(sum / perEpoch);
    onEpoch?.(e, sum / perEpoch);
    perm.dispose();
  }
  S.dispose();
  return losses;
}

/**
 * Mixture-of-experts feed-forward layer with top-k routing, as in Switch Transformers (Fedus et
 * al. 2022, k = 1) and Mixtral (Jiang et al. 2024, k = 2):
 *
 *   p_t = softmax(W_r x_t)                                     router probabilities over E experts
 *   S_t = top-k(p_t)                                            the k experts token t uses
 *   g_t,i = p_t,i / sum_{j in S_t} p_t,j   (i in S_t, else 0)   renormalised gates (sum to 1)
 *   y_t = sum_{i in S_t} g_t,i FFN_i(x_t)
 *
 * Auxiliary losses of the last forward:
 *
 *   balance = E * sum_i f_i P_i      f_i = (tokens with i in S_t) / T,  P_i = mean_t p_t,i
 *     (Switch eq. 4-6; for k > 1 f sums to k as in the Mixtral/HF `load_balancing_loss_func`, so
 *     perfectly balanced routing gives k. f carries no gradient; P does.)
 *   z = mean_t (logsumexp_i W_r x_t)^2                          router z-loss (ST-MoE, Zoph et al. 2022, eq. 5)
 *
 * Top-k selection: the core has no topk op, so S_t is found by k rounds of argmax on the detached
 * probabilities, masking each winner (ties go to the lower expert index, as argmax). The selection
 * needs no gradient; gradients reach the router through the gates and the balance loss. Tokens are
 * then dispatched sparsely: the selection mask is read back once per forward to list each expert's
 * tokens, and each expert runs only on its own tokens (index_select, expert, gate, index_add).
 *
 * Expert usage: the int32 buffer `expert_counts` [E] accumulates how many tokens picked each expert
 * (every forward, train or eval; `resetUsage()` clears it). It is a buffer, not a parameter, and is
 * part of the state dict (int64 in the PyTorch twin; loading casts).
 */
import {
  add, arange, argmax, cast, div, eq, full, indexAdd, indexSelect, logsumexp, mean, mul, nn, noGrad, OpError, reshape, scope, slice, softmax, sum, type Tensor, tensor, unsqueeze, where,
} from '@methodzoo/core';

/** GELU MLP: `fc1` (D -> hidden), GELU, `fc2` (hidden -> D), dropout. Dense FFN and MoE expert. */
export class FeedForward extends nn.Module {
  fc1: nn.Linear;
  act: nn.GELU;
  fc2: nn.Linear;
  drop: nn.Dropout;
  constructor(dim: number, hidden: number, opts: nn.FactoryOptions & { dropout?: number } = {}) {
    super();
    const layer: nn.FactoryOptions = { dtype: opts.dtype, backend: opts.backend, generator: opts.generator };
    this.fc1 = new nn.Linear(dim, hidden, layer);
    this.act = new nn.GELU();
    this.fc2 = new nn.Linear(hidden, dim, layer);
    this.drop = new nn.Dropout(opts.dropout ?? 0, { generator: opts.generator });
  }
  forward(x: Tensor): Tensor {
    return this.drop.call(this.fc2.call(this.act.call(this.fc1.call(x))));
  }
}

export interface MoEOptions extends nn.FactoryOptions {
  /** E, number of experts. */
  numExperts: number;
  /** k, experts per token (2). */
  topK?: number;
  /** Expert hidden width (4 D). */
  hidden?: number;
  /** Dropout inside experts (0). */
  dropout?: number;
  /** Compute the router z-loss each forward (true). */
  routerZLoss?: boolean;
}

/** What the last forward routed; tensors are ordinary results of that forward (freed by its scope). */
export interface MoERouting {
  /** Router logits [T, E]. */
  logits: Tensor;
  /** Router probabilities p [T, E]. */
  probs: Tensor;
  /** Renormalised gates g [T, E], zero outside each token's top-k. */
  gates: Tensor;
  /** Top-k selection mask [T, E] (bool). */
  mask: Tensor;
  /** Tokens routed to each expert in this forward. */
  tokensPerExpert: number[];
  /** E * sum_i f_i P_i (scalar). */
  balanceLoss: Tensor;
  /** mean (logsumexp logits)^2 (scalar), or null when routerZLoss is off. */
  zLoss: Tensor | null;
}

/**
 * Args: dim D and MoEOptions.
 *
 * Shape: x [..., D] -> [..., D] (tokens are all leading positions together, T = x.size / D).
 *
 * State-dict keys: `router.weight` [E, D] (no bias), `experts.{i}.fc1.weight` [hidden, D],
 * `experts.{i}.fc1.bias`, `experts.{i}.fc2.weight` [D, hidden], `experts.{i}.fc2.bias`,
 * `expert_counts` [E].
 *
 * Example:
 * ```ts
 * const moe = new MoEFeedForward(16, { numExperts: 4, topK: 2 });
 * const y = moe.call(randn([2, 5, 16]));   // [2, 5, 16]
 * const aux = moe.routing!.balanceLoss;    // add 0.01 * aux to the training loss
 * ```
 */
export class MoEFeedForward extends nn.Module {
  readonly dim: number;
  readonly numExperts: number;
  readonly topK: number;
  readonly routerZLoss: boolean;
  router: nn.Linear;
  experts: nn.ModuleList<FeedForward>;
  declare expert_counts: Tensor;
  /** Routing of the last forward (null before the first). */
  routing: MoERouting | null = null;

  constructor(dim: number, opts: MoEOptions) {
    super();
    const e = opts.numExperts;
    const k = opts.topK ?? 2;
    if (!Number.isInteger(e) || e < 1) throw new OpError('MoEFeedForward', `numExperts must be a positive integer, got ${e}`);
    if (!Number.isInteger(k) || k < 1 || k > e) throw new OpError('MoEFeedForward', `topK must be an integer in [1, numExperts=${e}], got ${k}`);
    const layer: nn.FactoryOptions = { dtype: opts.dtype, backend: opts.backend, generator: opts.generator };
    this.dim = dim;
    this.numExperts = e;
    this.topK = k;
    this.routerZLoss = opts.routerZLoss ?? true;
    this.router = new nn.Linear(dim, e, { ...layer, bias: false });
    this.experts = new nn.ModuleList(Array.from({ length: e }, () => new FeedForward(dim, opts.hidden ?? 4 * dim, { ...layer, dropout: opts.dropout })));
    this.registerBuffer('expert_counts', full([e], 0, { dtype: 'int32', backend: opts.backend }));
  }

  /** The balance loss of the last forward (throws before the first). */
  get balanceLoss(): Tensor {
    if (!this.routing) throw new OpError('MoEFeedForward', 'no forward has run yet');
    return this.routing.balanceLoss;
  }

  /** The router z-loss of the last forward, or null when disabled. */
  get zLoss(): Tensor | null {
    if (!this.routing) throw new OpError('MoEFeedForward', 'no forward has run yet');
    return this.routing.zLoss;
  }

  /** Zeroes `expert_counts`. */
  resetUsage(): void {
    scope(() => noGrad(() => this.expert_counts.assign(full([this.numExperts], 0, { dtype: 'int32', backend: this.expert_counts.backend }))));
  }

  /** Top-k mask [T, E] (bool) of `probs` by k rounds of argmax; no gradient. */
  selectTopK(probs: Tensor): Tensor {
    return noGrad(() => {
      const e = this.numExperts;
      const ids = reshape(arange(e, undefined, 1, { dtype: 'int32', backend: probs.backend }), [1, e]);
      let remaining = probs.detach();
      let mask: Tensor | null = null;
      for (let j = 0; j < this.topK; j++) {
        const hit = eq(unsqueeze(argmax(remaining, -1), -1), ids);
        mask = mask ? where(hit, hit, mask) : hit;
        remaining = where(hit, -Infinity, remaining);
      }
      return mask!;
    });
  }

  forward(x: Tensor): Tensor {
    const d = this.dim;
    if (x.ndim < 1 || x.shape[x.ndim - 1] !== d) throw new OpError('MoEFeedForward', `expected input [..., ${d}], got [${x.shape.join(', ')}]`);
    const t = x.size / d;
    const e = this.numExperts;
    const xf = reshape(x, [t, d]);
    const logits = this.router.call(xf);
    const probs = softmax(logits, -1);
    const mask = this.selectTopK(probs);
    const maskF = cast(mask, probs.dtype);
    const picked = mul(probs, maskF);
    const gates = div(picked, sum(picked, -1, { keepdim: true }));

    // One readback of the mask lists each expert's tokens.
    const flags = mask.dataSync();
    const lists: number[][] = Array.from({ length: e }, () => []);
    for (let i = 0; i < t; i++) for (let j = 0; j < e; j++) if (flags[i * e + j]) lists[j]!.push(i);
    let out = full([t, d], 0, { dtype: x.dtype, backend: x.backend });
    lists.forEach((tokens, j) => {
      if (tokens.length === 0) return;
      const ids = tensor(Int32Array.from(tokens), { backend: x.backend });
      const y = this.experts.at(j).call(indexSelect(xf, 0, ids));
      const g = indexSelect(slice(gates, 1, j, j + 1), 0, ids);
      out = indexAdd(out, 0, ids, mul(y, g));
    });

    const tokensPerExpert = lists.map((l) => l.length);
    const f = tensor(tokensPerExpert.map((c) => c / t), { dtype: probs.dtype, backend: probs.backend });
    const balanceLoss = mul(sum(mul(f, mean(probs, 0))), e);
    const lse = this.routerZLoss ? logsumexp(logits, -1) : null;
    const zLoss = lse ? mean(mul(lse, lse)) : null;
    scope(() =>
      noGrad(() => {
        const counts = tensor(Int32Array.from(tokensPerExpert), { backend: this.expert_counts.backend });
        this.expert_counts.assign(add(this.expert_counts, counts));
      }),
    );
    this.routing = { logits, probs, gates, mask, tokensPerExpert, balanceLoss, zLoss };
    return reshape(out, x.shape);
  }

  override extraRepr(): string {
    return `dim=${this.dim}, num_experts=${this.numExperts}, top_k=${this.topK}`;
  }
}

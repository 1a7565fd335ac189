/**
 * Decoder-only Transformer block (Vaswani et al. 2017, in the pre-LN arrangement of GPT-2, Radford
 * et al. 2019):
 *
 *   h = x + Attn(LN1(x))        causal multi-head self-attention (torch.nn.MultiheadAttention layout)
 *   y = h + FFN(LN2(h))         GELU MLP, or a top-k mixture of experts (moe.ts)
 *
 * and `GPT`, a tiny language model around it: learned token and position embeddings (no RoPE), N
 * blocks, a final LayerNorm and an untied LM head.
 *
 * Children: `ln1`, `attn` (`in_proj_weight`, `in_proj_bias`, `out_proj.*`), `ln2`, `ffn`
 * (FeedForward `fc1`/`fc2`, or MoEFeedForward `router`/`experts.{i}`/`expert_counts`), `drop`.
 */
import { add, arange, keep, nn, OpError, tensor, type Tensor } from '@methodzoo/core';
import { FeedForward, MoEFeedForward } from './moe.js';

export interface TransformerMoEOptions {
  /** E. */
  numExperts: number;
  /** k (2). */
  topK?: number;
  /** Router z-loss (true). */
  routerZLoss?: boolean;
}

export interface TransformerBlockOptions extends nn.FactoryOptions {
  /** Attention heads (4). */
  numHeads?: number;
  /** FFN hidden = mlpRatio * dim (4). */
  mlpRatio?: number;
  /** Dropout on attention weights, residual branches and inside the FFN (0). */
  dropout?: number;
  /** Causal self-attention (true). */
  causal?: boolean;
  /** Replace the dense FFN by a mixture of experts. */
  moe?: TransformerMoEOptions | null;
}

/** Bool [L, L], true above the diagonal: the positions a query may not attend to (MultiheadAttention's convention). */
function causalMask(l: number, like: Tensor): Tensor {
  const data = new Uint8Array(l * l);
  for (let i = 0; i < l; i++) for (let j = i + 1; j < l; j++) data[i * l + j] = 1;
  return tensor(data, { dtype: 'bool', shape: [l, l], backend: like.backend });
}

/**
 * Shape: x [N, L, dim] -> [N, L, dim].
 *
 * Example:
 * ```ts
 * const block = new TransformerBlock(32, { numHeads: 4, moe: { numExperts: 4, topK: 2 } });
 * block.call(randn([2, 8, 32])).shape; // [2, 8, 32]
 * (block.ffn as MoEFeedForward).balanceLoss.item(); // about k = 2 when balanced
 * ```
 */
export class TransformerBlock extends nn.Module {
  readonly dim: number;
  readonly causal: boolean;
  ln1: nn.LayerNorm;
  attn: nn.MultiheadAttention;
  ln2: nn.LayerNorm;
  ffn: FeedForward | MoEFeedForward;
  drop: nn.Dropout;

  constructor(dim: number, opts: TransformerBlockOptions = {}) {
    super();
    const layer: nn.FactoryOptions = { dtype: opts.dtype, backend: opts.backend, generator: opts.generator };
    const p = opts.dropout ?? 0;
    const hidden = Math.floor(dim * (opts.mlpRatio ?? 4));
    this.dim = dim;
    this.causal = opts.causal ?? true;
    this.ln1 = new nn.LayerNorm(dim, layer);
    this.attn = new nn.MultiheadAttention(dim, opts.numHeads ?? 4, { ...layer, dropout: p, batchFirst: true });
    this.ln2 = new nn.LayerNorm(dim, layer);
    this.ffn = opts.moe
      ? new MoEFeedForward(dim, { ...layer, ...opts.moe, hidden, dropout: p })
      : new FeedForward(dim, hidden, { ...layer, dropout: p });
    this.drop = new nn.Dropout(p, { generator: opts.generator });
  }

  /** The MoE layer, or null for a dense block. */
  get moe(): MoEFeedForward | null {
    return this.ffn instanceof MoEFeedForward ? this.ffn : null;
  }

  forward(x: Tensor): Tensor {
    if (x.ndim !== 3 || x.shape[2] !== this.dim) throw new OpError('TransformerBlock', `expected input [N, L, ${this.dim}], got [${x.shape.join(', ')}]`);
    const a = this.ln1.call(x);
    const [attnOut] = this.attn.call(a, a, a, { attnMask: this.causal ? causalMask(x.shape[1]!, x) : null, needWeights: false });
    const h = add(x, this.drop.call(attnOut));
    return add(h, this.drop.call(this.ffn.call(this.ln2.call(h))));
  }
}

export interface GPTOptions extends TransformerBlockOptions {
  vocabSize: number;
  /** Longest sequence (the position table's size). */
  blockSize: number;
  /** Model width (64). */
  dim?: number;
  /** Number of blocks (2). */
  numLayers?: number;
  /**
   * Which blocks use the MoE FFN when `moe` is set: 'all' (default), 'alternate' (1, 3, 5, ... as
   * GShard/Switch interleave), or explicit block indices.
   */
  moeLayers?: 'all' | 'alternate' | readonly number[];
}

/**
 * Tiny GPT: `tok_emb` (Embedding V x D), `pos_emb` (Embedding blockSize x D), `drop`, `blocks`
 * (ModuleList of TransformerBlock), `ln_f`, `lm_head` (Linear D -> V, no bias).
 *
 * Shape: idx [N, L] int32 (L <= blockSize) -> logits [N, L, V].
 *
 * Example:
 * ```ts
 * const gpt = new GPT({ vocabSize: 65, blockSize: 32, dim: 64, numLayers: 2, moe: { numExperts: 4 } });
 * const logits = gpt.call(randint(0, 65, [2, 16], { dtype: 'int32' })); // [2, 16, 65]
 * const aux = gpt.auxLoss(); // 0.01 * balance (+ 0.001 * z) summed over MoE blocks
 * ```
 */
export class GPT extends nn.Module {
  readonly vocabSize: number;
  readonly blockSize: number;
  readonly dim: number;
  tok_emb: nn.Embedding;
  pos_emb: nn.Embedding;
  drop: nn.Dropout;
  blocks: nn.ModuleList<TransformerBlock>;
  ln_f: nn.LayerNorm;
  lm_head: nn.Linear;

  constructor(opts: GPTOptions) {
    super();
    const layer: nn.FactoryOptions = { dtype: opts.dtype, backend: opts.backend, generator: opts.generator };
    const d = opts.dim ?? 64;
    const n = opts.numLayers ?? 2;
    if (!Number.isInteger(opts.vocabSize) || opts.vocabSize <= 0) throw new OpError('GPT', `vocabSize must be a positive integer, got ${opts.vocabSize}`);
    if (!Number.isInteger(opts.blockSize) || opts.blockSize <= 0) throw new OpError('GPT', `blockSize must be a positive integer, got ${opts.blockSize}`);
    this.vocabSize = opts.vocabSize;
    this.blockSize = opts.blockSize;
    this.dim = d;
    const which = opts.moeLayers ?? 'all';
    const usesMoe = (i: number) => which === 'all' || (which === 'alternate' ? i % 2 === 1 : which.includes(i));
    this.tok_emb = new nn.Embedding(opts.vocabSize, d, layer);
    this.pos_emb = new nn.Embedding(opts.blockSize, d, layer);
    this.drop = new nn.Dropout(opts.dropout ?? 0, { generator: opts.generator });
    this.blocks = new nn.ModuleList(Array.from({ length: n }, (_, i) => new TransformerBlock(d, { ...opts, moe: opts.moe && usesMoe(i) ? opts.moe : null })));
    this.ln_f = new nn.LayerNorm(d, layer);
    this.lm_head = new nn.Linear(d, opts.vocabSize, { ...layer, bias: false });
  }

  /** The MoE layers, in block order. */
  moeLayers(): MoEFeedForward[] {
    return [...this.blocks].flatMap((b) => (b.moe ? [b.moe] : []));
  }

  /**
   * balanceCoef * sum of balance losses + zCoef * sum of z-losses of the last forward over the MoE
   * blocks (Switch uses 0.01, ST-MoE 0.001 for z). A scalar zero when the model has no MoE block.
   */
  auxLoss(opts: { balanceCoef?: number; zCoef?: number } = {}): Tensor {
    const bc = opts.balanceCoef ?? 0.01;
    const zc = opts.zCoef ?? 0.001;
    let total: Tensor = tensor(0, { dtype: this.lm_head.weight.dtype, backend: this.lm_head.weight.backend });
    for (const m of this.moeLayers()) {
      total = add(total, m.balanceLoss.mul(bc));
      if (m.zLoss && zc !== 0) total = add(total, m.zLoss.mul(zc));
    }
    return total;
  }

  forward(idx: Tensor): Tensor {
    if (idx.ndim !== 2 || idx.dtype !== 'int32') throw new OpError('GPT', `expected int32 token ids [N, L], got ${idx.dtype} [${idx.shape.join(', ')}]`);
    const l = idx.shape[1]!;
    if (l > this.blockSize) throw new OpError('GPT', `sequence length ${l} exceeds blockSize ${this.blockSize}`);
    const pos = arange(l, undefined, 1, { dtype: 'int32', backend: idx.backend });
    let h = this.drop.call(add(this.tok_emb.call(idx), this.pos_emb.call(pos)));
    for (const b of this.blocks) h = b.call(h);
    return this.lm_head.call(this.ln_f.call(h));
  }
}

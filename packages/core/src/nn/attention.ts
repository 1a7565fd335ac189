/**
 * Multi-head attention (Vaswani et al., 2017, section 3.2.2), laid out exactly as PyTorch's
 * `torch.nn.MultiheadAttention` so checkpoints load by name: the query/key/value projections are one
 * packed `in_proj_weight` [3E, E] and `in_proj_bias` [3E] (or separate `q_proj_weight`,
 * `k_proj_weight`, `v_proj_weight` when kdim/vdim differ from E), and the output projection is the
 * child Linear `out_proj`.
 *
 *   MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O,  head_i = softmax(Q W_i^Q (K W_i^K)^T / sqrt(d)) V W_i^V
 */
import { full } from '../creation.js';
import { add, cast, cat, expand, pad, permute, reshape, slice, where } from '../ops/basic.js';
import { mean, squeeze, transpose, unsqueeze } from '../ops/composite.js';
import { attention, linear } from '../ops/nn.js';
import { defaultGenerator, type Generator } from '../random.js';
import { fmtShape, OpError } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { constant_, xavierNormal_, xavierUniform_ } from './init.js';
import { Linear } from './linear.js';
import { emptyParameter, type FactoryOptions, Module, type Parameter } from './module.js';

export interface MultiheadAttentionOptions extends FactoryOptions {
  /** Dropout on the attention weights during training (0). Masks come from `generator`. */
  dropout?: number;
  /** Biases on the input and output projections (true). */
  bias?: boolean;
  /** Learned key/value biases `bias_k`, `bias_v` [1, 1, E] appended to the key/value sequences (false). */
  addBiasKv?: boolean;
  /** Append a zero key/value position (false). */
  addZeroAttn?: boolean;
  /** Key features (E by default). */
  kdim?: number;
  /** Value features (E by default). */
  vdim?: number;
  /** Inputs and output are [N, L, E] instead of [L, N, E] (false, as PyTorch). */
  batchFirst?: boolean;
}

export interface MultiheadAttentionForwardOptions {
  /**
   * [N, S] (or [S] unbatched): bool, true = ignore that key position; or float, added to the scores.
   */
  keyPaddingMask?: Tensor | null;
  /** Return the attention weights as the second element (true). */
  needWeights?: boolean;
  /**
   * [L, S] or [N * numHeads, L, S]: bool, true = not allowed to attend (PyTorch's convention for this
   * module, the opposite of `scaledDotProductAttention`'s); or float, added to the scores.
   */
  attnMask?: Tensor | null;
  /** Average the returned weights over heads (true): [N, L, S]; else [N, numHeads, L, S]. */
  averageAttnWeights?: boolean;
}

/**
 * Args:
 *   embedDim: E, the model width; split across heads.
 *   numHeads: h; each head has E / h features.
 *   opts: dropout (0), bias (true), addBiasKv (false), addZeroAttn (false), kdim, vdim, batchFirst
 *   (false), generator (initialisation and dropout), dtype.
 *
 * Shape:
 *   query [L, N, E] (or [N, L, E] with batchFirst, or [L, E] unbatched), key [S, N, kdim],
 *   value [S, N, vdim] -> output like query; weights [N, L, S] (averaged) or [N, h, L, S].
 *
 * State-dict keys: `in_proj_weight`, `in_proj_bias`, `out_proj.weight`, `out_proj.bias` (plus
 * `bias_k`, `bias_v` with addBiasKv; `q_proj_weight`, `k_proj_weight`, `v_proj_weight` instead of
 * `in_proj_weight` when kdim or vdim differ from E).
 *
 * Initialisation (PyTorch `_reset_parameters`): xavier_uniform for the input projections, zero
 * biases, xavier_normal for bias_k/bias_v; `out_proj.weight` keeps Linear's default.
 *
 * Example:
 * ```ts
 * const mha = new MultiheadAttention(16, 4, { batchFirst: true });
 * const x = randn([2, 5, 16]);
 * const [out, weights] = mha.call(x, x, x); // out [2, 5, 16], weights [2, 5, 5]
 * ```
 */
export class MultiheadAttention extends Module {
  readonly embedDim: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly kdim: number;
  readonly vdim: number;
  readonly dropout: number;
  readonly batchFirst: boolean;
  readonly addZeroAttn: boolean;
  generator: Generator;
  declare in_proj_weight: Parameter | null;
  declare q_proj_weight: Parameter | null;
  declare k_proj_weight: Parameter | null;
  declare v_proj_weight: Parameter | null;
  declare in_proj_bias: Parameter | null;
  /** The output projection (a plain Linear; PyTorch's NonDynamicallyQuantizableLinear has the same keys). */
  declare out_proj: Linear;
  declare bias_k: Parameter | null;
  declare bias_v: Parameter | null;

  constructor(embedDim: number, numHeads: number, opts: MultiheadAttentionOptions = {}) {
    super();
    if (!Number.isInteger(embedDim) || embedDim <= 0) throw new OpError('MultiheadAttention', `embedDim must be a positive integer, got ${embedDim}`);
    if (!Number.isInteger(numHeads) || numHeads <= 0 || embedDim % numHeads !== 0) {
      throw new OpError('MultiheadAttention', `embedDim (${embedDim}) must be divisible by numHeads (${numHeads})`);
    }
    const dropout = opts.dropout ?? 0;
    if (!(dropout >= 0 && dropout <= 1)) throw new OpError('MultiheadAttention', `dropout must be in [0, 1], got ${dropout}`);
    this.embedDim = embedDim;
    this.numHeads = numHeads;
    this.headDim = embedDim / numHeads;
    this.kdim = opts.kdim ?? embedDim;
    this.vdim = opts.vdim ?? embedDim;
    this.dropout = dropout;
    this.batchFirst = opts.batchFirst ?? false;
    this.addZeroAttn = opts.addZeroAttn ?? false;
    this.generator = opts.generator ?? defaultGenerator;
    const e = embedDim;
    // Registration order is PyTorch's, so stateDict() lists keys in the same order.
    if (this.kdim === e && this.vdim === e) {
      this.registerParameter('in_proj_weight', emptyParameter([3 * e, e], opts));
      this.registerParameter('q_proj_weight', null);
      this.registerParameter('k_proj_weight', null);
      this.registerParameter('v_proj_weight', null);
    } else {
      this.registerParameter('q_proj_weight', emptyParameter([e, e], opts));
      this.registerParameter('k_proj_weight', emptyParameter([e, this.kdim], opts));
      this.registerParameter('v_proj_weight', emptyParameter([e, this.vdim], opts));
      this.registerParameter('in_proj_weight', null);
    }
    this.registerParameter('in_proj_bias', opts.bias === false ? null : emptyParameter([3 * e], opts));
    this.registerModule('out_proj', new Linear(e, e, { ...opts, bias: opts.bias !== false }));
    this.registerParameter('bias_k', opts.addBiasKv ? emptyParameter([1, 1, e], opts) : null);
    this.registerParameter('bias_v', opts.addBiasKv ? emptyParameter([1, 1, e], opts) : null);
    this.resetParameters(opts.generator);
  }

  /** PyTorch's `_reset_parameters` (out_proj.weight is left with Linear's initialisation). */
  resetParameters(generator?: Generator): void {
    if (this.in_proj_weight) xavierUniform_(this.in_proj_weight, { generator });
    else for (const w of [this.q_proj_weight, this.k_proj_weight, this.v_proj_weight]) xavierUniform_(w!, { generator });
    if (this.in_proj_bias) {
      constant_(this.in_proj_bias, 0);
      if (this.out_proj.bias) constant_(this.out_proj.bias, 0);
    }
    if (this.bias_k) xavierNormal_(this.bias_k, { generator });
    if (this.bias_v) xavierNormal_(this.bias_v, { generator });
  }

  /** Projections for query, key and value (q/k/v slices of the packed weight and bias). */
  private project(query: Tensor, key: Tensor, value: Tensor): [Tensor, Tensor, Tensor] {
    const e = this.embedDim;
    const b = this.in_proj_bias;
    const bias = (i: number) => (b ? slice(b, 0, i * e, (i + 1) * e) : null);
    if (this.in_proj_weight) {
      const w = this.in_proj_weight;
      if (query === key && key === value) {
        // Self-attention: one GEMM for all three, then split.
        const qkv = linear(query, w, b);
        return [0, 1, 2].map((i) => slice(qkv, -1, i * e, (i + 1) * e)) as [Tensor, Tensor, Tensor];
      }
      const weight = (i: number) => slice(w, 0, i * e, (i + 1) * e);
      return [linear(query, weight(0), bias(0)), linear(key, weight(1), bias(1)), linear(value, weight(2), bias(2))];
    }
    return [linear(query, this.q_proj_weight!, bias(0)), linear(key, this.k_proj_weight!, bias(1)), linear(value, this.v_proj_weight!, bias(2))];
  }

  /** A float mask (0 or -inf for bool; as given for float) in `dtype`. */
  private additive(name: string, mask: Tensor, dtype: Tensor['dtype']): Tensor {
    if (mask.dtype === 'bool') return where(mask, full([], -Infinity, { dtype, backend: mask.backend }), 0);
    if (mask.dtype === 'int32') throw new OpError('MultiheadAttention', `${name} must be bool or floating point, got int32`);
    return cast(mask, dtype);
  }

  forward(query: Tensor, key: Tensor, value: Tensor, opts: MultiheadAttentionForwardOptions = {}): [Tensor, Tensor | null] {
    const op = 'MultiheadAttention';
    const batched = query.ndim === 3;
    if (!batched && query.ndim !== 2) throw new OpError(op, `query must be 3-D (batched) or 2-D (unbatched), got ${fmtShape(query.shape)}`);
    if (key.ndim !== query.ndim || value.ndim !== query.ndim) {
      throw new OpError(op, `query, key and value must all be ${query.ndim}-D, got ${fmtShape(query.shape)}, ${fmtShape(key.shape)}, ${fmtShape(value.shape)}`);
    }
    // Work in [N, L, E].
    const toNLE = (t: Tensor) => (!batched ? unsqueeze(t, 0) : this.batchFirst ? t : transpose(t, 0, 1));
    let q: Tensor = toNLE(query);
    let k: Tensor = toNLE(key);
    let v: Tensor = toNLE(value);
    const [n, l, e] = q.shape as [number, number, number];
    if (e !== this.embedDim) throw new OpError(op, `query has ${e} features, expected embedDim ${this.embedDim}`);
    if (k.shape[2] !== this.kdim || v.shape[2] !== this.vdim) {
      throw new OpError(op, `key/value features must be kdim ${this.kdim} / vdim ${this.vdim}, got ${fmtShape(key.shape)} / ${fmtShape(value.shape)}`);
    }
    if (k.shape[0] !== n || v.shape[0] !== n || k.shape[1] !== v.shape[1]) {
      throw new OpError(op, `key ${fmtShape(key.shape)} and value ${fmtShape(value.shape)} must share batch and sequence sizes with each other and the query's batch`);
    }
    [q, k, v] = query === key && key === value ? this.project(q, q, q) : this.project(q, k, v);
    let s = k.shape[1]!;
    const h = this.numHeads;
    const d = this.headDim;

    // Masks as additive floats broadcastable to [N, h, L, S].
    let mask: Tensor | null = null;
    if (opts.attnMask) {
      const m = this.additive('attnMask', opts.attnMask, q.dtype);
      if (m.ndim === 2 && m.shape[0] === l && m.shape[1] === s) mask = reshape(m, [1, 1, l, s]);
      else if (m.ndim === 3 && m.shape[0] === n * h && m.shape[1] === l && m.shape[2] === s) mask = reshape(m, [n, h, l, s]);
      else throw new OpError(op, `attnMask must be [${l}, ${s}] or [${n * h}, ${l}, ${s}], got ${fmtShape(m.shape)}`);
    }
    if (opts.keyPaddingMask) {
      const kp = this.additive('keyPaddingMask', opts.keyPaddingMask, q.dtype);
      const want = batched ? [n, s] : [s];
      if (kp.shape.join() !== want.join()) throw new OpError(op, `keyPaddingMask must be ${fmtShape(want)}, got ${fmtShape(kp.shape)}`);
      const kp4 = reshape(kp, [n, 1, 1, s]);
      mask = mask ? add(mask, kp4) : kp4;
    }

    if (this.bias_k && this.bias_v) {
      k = cat([k, expand(this.bias_k, [n, 1, e])], 1);
      v = cat([v, expand(this.bias_v, [n, 1, e])], 1);
      if (mask) mask = pad(mask, [0, 1]);
      s += 1;
    }
    const heads = (t: Tensor, len: number) => permute(reshape(t, [n, len, h, d]), [0, 2, 1, 3]);
    q = heads(q, l);
    k = heads(k, s);
    v = heads(v, s);
    if (this.addZeroAttn) {
      const z = full([n, h, 1, d], 0, { dtype: k.dtype, backend: k.backend });
      k = cat([k, z], 2);
      v = cat([v, z], 2);
      if (mask) mask = pad(mask, [0, 1]);
      s += 1;
    }

    const training = this.training && this.dropout > 0;
    const { output, weights } = attention(q, k, v, {
      attnMask: mask,
      dropoutP: training ? this.dropout : 0,
      training,
      generator: this.generator,
    });
    const merged = reshape(permute(output, [0, 2, 1, 3]), [n, l, e]);
    let out = linear(merged, this.out_proj.weight, this.out_proj.bias);
    out = !batched ? squeeze(out, 0) : this.batchFirst ? out : transpose(out, 0, 1);
    if (opts.needWeights === false) return [out, null];
    let w = opts.averageAttnWeights === false ? weights : mean(weights, 1);
    if (!batched) w = squeeze(w, 0);
    return [out, w];
  }
}

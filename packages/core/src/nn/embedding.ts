/** Embedding lookup table (PyTorch `torch/nn/modules/sparse.py`). */
import { arange } from '../creation.js';
import { eq, reshape, where } from '../ops/basic.js';
import { embedding } from '../ops/nn.js';
import type { Generator } from '../random.js';
import { fmtShape, OpError } from '../shape.js';
import { noGrad, type Tensor } from '../tensor.js';
import { normal_ } from './init.js';
import { emptyParameter, type FactoryOptions, Module, type Parameter } from './module.js';

export interface EmbeddingOptions extends FactoryOptions {
  /** Row whose entries are initialised to zero and never receive a gradient (negative counts from the end). */
  paddingIdx?: number;
}

/**
 * A table of `numEmbeddings` vectors of size `embeddingDim`, looked up by int32 index.
 *
 * Args:
 *   numEmbeddings: size of the dictionary.
 *   embeddingDim: size of each vector.
 *   opts.paddingIdx: a row kept at zero and excluded from gradients.
 *
 * Shape:
 *   input int32 [*] -> output [*, embeddingDim].
 *
 * Parameters: `weight` [numEmbeddings, embeddingDim], initialised N(0, 1) (the padding row zero).
 *
 * Example:
 * ```ts
 * const emb = new Embedding(10, 3, { paddingIdx: 0 });
 * emb.call(tensor([[1, 2, 0]], { dtype: 'int32' })).shape; // [1, 3, 3]
 * ```
 */
export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly paddingIdx: number | null;
  weight: Parameter;

  constructor(numEmbeddings: number, embeddingDim: number, opts: EmbeddingOptions = {}) {
    super();
    for (const [n, v] of [['numEmbeddings', numEmbeddings], ['embeddingDim', embeddingDim]] as const) {
      if (!Number.isInteger(v) || v < 0) throw new OpError('Embedding', `${n} must be a non-negative integer, got ${v}`);
    }
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    this.paddingIdx = normalisePaddingIdx(opts.paddingIdx, numEmbeddings);
    this.weight = emptyParameter([numEmbeddings, embeddingDim], opts);
    this.resetParameters(opts.generator);
  }

  /**
   * An Embedding holding `weights` [V, D] (copied), frozen unless `freeze: false`
   * (PyTorch `Embedding.from_pretrained`).
   */
  static fromPretrained(weights: Tensor, opts: { freeze?: boolean; paddingIdx?: number } = {}): Embedding {
    if (weights.ndim !== 2) throw new OpError('Embedding.fromPretrained', `weights must be 2-D [numEmbeddings, embeddingDim], got ${fmtShape(weights.shape)}`);
    const emb = new Embedding(weights.shape[0]!, weights.shape[1]!, { dtype: weights.dtype, backend: weights.backend, paddingIdx: opts.paddingIdx });
    emb.loadStateDict(new Map([['weight', weights]]));
    emb.weight.requiresGrad_(!(opts.freeze ?? true));
    return emb;
  }

  /** N(0, 1), then the padding row zeroed (PyTorch `reset_parameters`). */
  resetParameters(generator?: Generator): void {
    normal_(this.weight, 0, 1, { generator });
    this.zeroPaddingRow();
  }

  private zeroPaddingRow(): void {
    const idx = this.paddingIdx;
    if (idx === null) return;
    const w = this.weight;
    noGrad(() => {
      const rows = reshape(arange(this.numEmbeddings, undefined, 1, { dtype: 'int32', backend: w.backend }), [this.numEmbeddings, 1]);
      const zeroed = where(eq(rows, idx), 0, w);
      w.assign(zeroed);
      zeroed.dispose();
      rows.dispose();
    });
  }

  forward(indices: Tensor): Tensor {
    return embedding(indices, this.weight, this.paddingIdx ?? undefined);
  }

  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx !== null ? `, padding_idx=${this.paddingIdx}` : ''}`;
  }
}

function normalisePaddingIdx(idx: number | undefined, n: number): number | null {
  if (idx === undefined) return null;
  if (!Number.isInteger(idx) || idx >= n || idx < -n) throw new OpError('Embedding', `paddingIdx must be an integer within numEmbeddings (${n}), got ${idx}`);
  return idx < 0 ? idx + n : idx;
}

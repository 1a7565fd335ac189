/**
 * Map-style datasets, PyTorch `torch.utils.data`: a dataset is anything with a `length` and a
 * `get(i)`. Datasets that can gather many samples at once expose `getBatch(indices)`, which the
 * DataLoader uses instead of collating samples one by one.
 */
import { tensor } from '../creation.js';
import { indexSelect, reshape, slice } from '../ops/basic.js';
import { defaultGenerator, type Generator } from '../random.js';
import { fmtShape, OpError } from '../shape.js';
import { scope, Tensor } from '../tensor.js';

export interface Dataset<T> {
  readonly length: number;
  /** Sample `index`, 0 <= index < length. Tensors it creates belong to the caller. */
  get(index: number): T;
}

/** A dataset that can also gather a whole batch; the result equals `defaultCollate` of the samples. */
export interface BatchDataset<T, B> extends Dataset<T> {
  getBatch(indices: Int32Array): B;
}

export function hasGetBatch<T>(d: Dataset<T>): d is BatchDataset<T, unknown> {
  return typeof (d as Partial<BatchDataset<T, unknown>>).getBatch === 'function';
}

function checkIndex(op: string, index: number, length: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= length) throw new OpError(op, `index ${index} is out of range for a dataset of length ${length}`);
}

/** Rows of tensors that share their first dimension: sample i is `[t0[i], t1[i], ...]`. */
export class TensorDataset implements BatchDataset<Tensor[], Tensor[]> {
  readonly tensors: readonly Tensor[];
  readonly length: number;

  constructor(...tensors: Tensor[]) {
    if (tensors.length === 0) throw new OpError('TensorDataset', 'needs at least one tensor');
    tensors.forEach((t, i) => {
      if (!(t instanceof Tensor)) throw new OpError('TensorDataset', `argument ${i} is not a Tensor`);
      if (t.ndim === 0) throw new OpError('TensorDataset', `tensor ${i} is 0-d; every tensor needs a first (sample) dimension`);
    });
    const n = tensors[0]!.shape[0]!;
    tensors.forEach((t, i) => {
      if (t.shape[0] !== n) {
        throw new OpError('TensorDataset', `size mismatch between tensors: tensor ${i} has shape ${fmtShape(t.shape)} (first dim ${t.shape[0]}), tensor 0 has ${fmtShape(tensors[0]!.shape)} (first dim ${n})`);
      }
    });
    this.tensors = tensors;
    this.length = n;
  }

  get(index: number): Tensor[] {
    checkIndex('TensorDataset.get', index, this.length);
    return scope(() => this.tensors.map((t) => reshape(slice(t, 0, index, index + 1), t.shape.slice(1))));
  }

  /** One `indexSelect` per tensor. */
  getBatch(indices: Int32Array): Tensor[] {
    for (const i of indices) checkIndex('TensorDataset.getBatch', i, this.length);
    return scope(() => {
      const idx = tensor(indices, { backend: this.tensors[0]!.backend });
      return this.tensors.map((t) => indexSelect(t, 0, idx.backend === t.backend ? idx : tensor(indices, { backend: t.backend })));
    });
  }
}

/** The samples of `dataset` at `indices`, in that order. */
export class Subset<T> implements Dataset<T> {
  readonly dataset: Dataset<T>;
  readonly indices: Int32Array;

  constructor(dataset: Dataset<T>, indices: ArrayLike<number>) {
    this.dataset = dataset;
    this.indices = Int32Array.from(indices as ArrayLike<number>);
    Array.from(indices).forEach((v, i) => {
      if (!Number.isInteger(v) || v < 0 || v >= dataset.length) throw new OpError('Subset', `indices[${i}] = ${v} is out of range for a dataset of length ${dataset.length}`);
    });
  }

  get length(): number {
    return this.indices.length;
  }

  get(index: number): T {
    checkIndex('Subset.get', index, this.length);
    return this.dataset.get(this.indices[index]!);
  }

  /** Present (and used by the DataLoader) when the underlying dataset gathers batches itself. */
  get getBatch(): ((indices: Int32Array) => unknown) | undefined {
    const inner = this.dataset;
    if (!hasGetBatch(inner)) return undefined;
    return (indices: Int32Array) => {
      const mapped = new Int32Array(indices.length);
      indices.forEach((i, k) => {
        checkIndex('Subset.getBatch', i, this.length);
        mapped[k] = this.indices[i]!;
      });
      return inner.getBatch(mapped);
    };
  }
}

/**
 * Splits `dataset` into non-overlapping random subsets of the given `lengths` (PyTorch
 * `random_split`). Lengths are counts summing to the dataset length, or fractions summing to 1: each
 * gets floor(fraction * length) and the remainder goes round-robin to the first subsets.
 */
export function randomSplit<T>(dataset: Dataset<T>, lengths: readonly number[], generator?: Generator): Subset<T>[] {
  const n = dataset.length;
  let counts = [...lengths];
  if (counts.some((l) => !(l >= 0))) throw new OpError('randomSplit', `lengths must be non-negative, got ${JSON.stringify(lengths)}`);
  const total = counts.reduce((a, b) => a + b, 0);
  // Python's math.isclose(total, 1) decides between fractions and counts, as in PyTorch.
  if (Math.abs(total - 1) <= 1e-9 && total <= 1) {
    counts = counts.map((f) => Math.floor(n * f));
    const remainder = n - counts.reduce((a, b) => a + b, 0);
    for (let i = 0; i < remainder; i++) counts[i % counts.length]! += 1;
  } else if (counts.some((l) => !Number.isInteger(l))) {
    throw new OpError('randomSplit', `lengths must be integers or fractions summing to 1, got ${JSON.stringify(lengths)}`);
  }
  const sum = counts.reduce((a, b) => a + b, 0);
  if (sum !== n) throw new OpError('randomSplit', `lengths sum to ${sum} but the dataset has length ${n}`);
  const order = (generator ?? defaultGenerator).permutation(n);
  let offset = 0;
  return counts.map((c) => new Subset(dataset, order.subarray(offset, (offset += c))));
}

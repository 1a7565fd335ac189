/**
 * Mini-batch iteration over a map-style dataset (PyTorch `DataLoader`, single process). Each pass
 * over the loader is one epoch; with `shuffle` every epoch draws a fresh permutation from the
 * loader's generator, so the same seed replays the same sequence of epochs.
 *
 *   const loader = new DataLoader(new TensorDataset(x, y), { batchSize: 32, shuffle: true, generator: new Generator(0) });
 *   for (const [xb, yb] of loader) scope(() => train(xb, yb)); // scope frees the batch too
 *
 * Batches are fresh tensors owned by the caller: dispose them, or consume them inside `scope`.
 */
import { defaultGenerator, type Generator } from '../random.js';
import { OpError } from '../shape.js';
import { scope } from '../tensor.js';
import { type Collated, defaultCollate } from './collate.js';
import { type Dataset, hasGetBatch } from './dataset.js';

export interface DataLoaderOptions<T, B> {
  /** Samples per batch (default 1). */
  batchSize?: number;
  /** Visit samples in a new random order each epoch (default false). */
  shuffle?: boolean;
  /** Source of the shuffles; the default generator when omitted. */
  generator?: Generator;
  /** Drop the last batch when it is smaller than `batchSize` (default false). */
  dropLast?: boolean;
  /**
   * Turns a list of samples into a batch (default `defaultCollate`). It runs inside a scope: tensors
   * it creates must be reachable from its result (arrays, maps and objects up to 4 levels deep) or `keep()`-ed.
   */
  collate?: (samples: T[]) => B;
}

export class DataLoader<T, B = Collated<T>> implements Iterable<B>, AsyncIterable<B> {
  readonly dataset: Dataset<T>;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly generator: Generator;
  private readonly collateFn: ((samples: T[]) => B) | null;

  constructor(dataset: Dataset<T>, opts: DataLoaderOptions<T, B> = {}) {
    if (!dataset || typeof dataset.get !== 'function' || !Number.isInteger(dataset.length) || dataset.length < 0) {
      throw new OpError('DataLoader', 'dataset must have an integer length and a get(index) method');
    }
    const batchSize = opts.batchSize ?? 1;
    if (!Number.isInteger(batchSize) || batchSize <= 0) throw new OpError('DataLoader', `batchSize must be a positive integer, got ${batchSize}`);
    if (opts.collate !== undefined && typeof opts.collate !== 'function') throw new OpError('DataLoader', 'collate must be a function');
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = opts.shuffle ?? false;
    this.dropLast = opts.dropLast ?? false;
    this.generator = opts.generator ?? defaultGenerator;
    this.collateFn = opts.collate ?? null;
  }

  /** Number of batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The sample order of the next epoch (advances the generator when shuffling). */
  private order(): Int32Array {
    const n = this.dataset.length;
    if (this.shuffle) return this.generator.permutation(n);
    const o = new Int32Array(n);
    for (let i = 0; i < n; i++) o[i] = i;
    return o;
  }

  /** Builds one batch; tensors the dataset creates for single samples are freed once stacked. */
  private batch(indices: Int32Array): B {
    const ds = this.dataset;
    if (!this.collateFn && hasGetBatch(ds)) return ds.getBatch(indices) as B;
    const collate = this.collateFn ?? (defaultCollate as unknown as (samples: T[]) => B);
    return scope(() => collate(Array.from(indices, (i) => ds.get(i))));
  }

  *[Symbol.iterator](): Iterator<B> {
    const order = this.order();
    const count = this.length;
    for (let b = 0; b < count; b++) {
      yield this.batch(order.subarray(b * this.batchSize, Math.min((b + 1) * this.batchSize, order.length)));
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<B> {
    for (const batch of this) yield batch;
  }
}

import { describe, expect, it } from 'vitest';
import * as mz from '../src/index.js';

const { data } = mz;
type Tensor = mz.Tensor;

/** x row i is [2i, 2i+1], y[i] = i: every batch can be checked against its labels. */
function rows(n: number) {
  const x = mz.keep(mz.arange(2 * n).reshape(n, 2));
  const y = mz.keep(mz.arange(n, undefined, 1, { dtype: 'int32' }));
  return { x, y, ds: new data.TensorDataset(x, y), dispose: () => [x, y].forEach((t) => t.dispose()) };
}

function labels(loader: Iterable<Tensor[]>): number[][] {
  return [...loader].map((batch) => {
    const out = batch[1]!.tolist() as number[];
    batch.forEach((t) => t.dispose());
    return out;
  });
}

describe('TensorDataset', () => {
  it('returns the rows of every tensor', () => {
    const { ds, dispose } = rows(5);
    expect(ds.length).toBe(5);
    const [xi, yi] = ds.get(3);
    expect(xi!.shape).toEqual([2]);
    expect(xi!.tolist()).toEqual([6, 7]);
    expect(yi!.shape).toEqual([]);
    expect(yi!.item()).toBe(3);
    expect(yi!.dtype).toBe('int32');
    [xi!, yi!].forEach((t) => t.dispose());
    dispose();
  });

  it('names the tensor whose first dim differs, and rejects bad input', () => {
    const a = mz.zeros([4, 3]);
    const b = mz.zeros([4]);
    const c = mz.zeros([5, 2]);
    expect(() => new data.TensorDataset(a, b, c)).toThrow(/TensorDataset: size mismatch between tensors: tensor 2 has shape \[5, 2\] \(first dim 5\), tensor 0 has \[4, 3\] \(first dim 4\)/);
    expect(() => new data.TensorDataset()).toThrow(/needs at least one tensor/);
    const s = mz.tensor(1);
    expect(() => new data.TensorDataset(a, s)).toThrow(/tensor 1 is 0-d/);
    const ds = new data.TensorDataset(a, b);
    expect(() => ds.get(4)).toThrow(/TensorDataset.get: index 4 is out of range for a dataset of length 4/);
    expect(() => ds.get(-1)).toThrow(/index -1 is out of range/);
    expect(() => ds.getBatch(Int32Array.from([0, 9]))).toThrow(/index 9 is out of range/);
    [a, b, c, s].forEach((t) => t.dispose());
  });

  it('getBatch gathers the same rows stacking would', () => {
    const { ds, dispose } = rows(6);
    const idx = Int32Array.from([4, 0, 5]);
    const fast = ds.getBatch(idx);
    const slow = mz.scope(() => data.defaultCollate(Array.from(idx, (i) => ds.get(i))));
    expect(fast.map((t) => t.tolist())).toEqual(slow.map((t) => t.tolist()));
    expect(fast[0]!.tolist()).toEqual([[8, 9], [0, 1], [10, 11]]);
    expect(fast[1]!.dtype).toBe('int32');
    [...fast, ...slow].forEach((t) => t.dispose());
    dispose();
  });
});

describe('Subset and randomSplit', () => {
  it('Subset maps indices and checks them', () => {
    const base = { length: 5, get: (i: number) => i * 10 };
    const sub = new data.Subset(base, [4, 1]);
    expect(sub.length).toBe(2);
    expect([sub.get(0), sub.get(1)]).toEqual([40, 10]);
    expect(() => sub.get(2)).toThrow(/Subset.get: index 2 is out of range for a dataset of length 2/);
    expect(() => new data.Subset(base, [0, 5])).toThrow(/Subset: indices\[1\] = 5 is out of range for a dataset of length 5/);
    expect(sub.getBatch).toBeUndefined();
  });

  it('splits into disjoint subsets covering the dataset, reproducibly per seed', () => {
    const base = { length: 10, get: (i: number) => i };
    const split = (seed: number) => data.randomSplit(base, [3, 7], new mz.Generator(seed)).map((s) => Array.from(s.indices));
    const [a, b] = split(5);
    expect(a).toHaveLength(3);
    expect(b).toHaveLength(7);
    expect([...a!, ...b!].sort((p, q) => p - q)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(split(5)).toEqual([a, b]);
    expect(split(6)).not.toEqual([a, b]);
  });

  it('turns fractions into counts, giving the remainder round-robin (as PyTorch)', () => {
    const base = { length: 10, get: (i: number) => i };
    expect(data.randomSplit(base, [0.33, 0.33, 0.34], new mz.Generator(0)).map((s) => s.length)).toEqual([4, 3, 3]);
    expect(data.randomSplit(base, [0.25, 0.25, 0.25, 0.25], new mz.Generator(0)).map((s) => s.length)).toEqual([3, 3, 2, 2]);
    expect(() => data.randomSplit(base, [3, 6])).toThrow(/randomSplit: lengths sum to 9 but the dataset has length 10/);
    expect(() => data.randomSplit(base, [0.5, 0.4])).toThrow(/lengths must be integers or fractions summing to 1/);
    expect(() => data.randomSplit(base, [-1, 11])).toThrow(/lengths must be non-negative/);
  });
});

describe('DataLoader', () => {
  it('counts and shapes batches with and without dropLast', () => {
    const { ds, dispose } = rows(10);
    const keepLast = new data.DataLoader(ds, { batchSize: 4 });
    expect(keepLast.length).toBe(3);
    const batches = [...keepLast];
    expect(batches.map((b) => b[0]!.shape)).toEqual([[4, 2], [4, 2], [2, 2]]);
    expect(batches.map((b) => b[1]!.tolist())).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    expect(batches[2]![0]!.tolist()).toEqual([[16, 17], [18, 19]]);
    batches.flat().forEach((t) => t.dispose());

    const dropLast = new data.DataLoader(ds, { batchSize: 4, dropLast: true });
    expect(dropLast.length).toBe(2);
    expect(labels(dropLast)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
    expect(new data.DataLoader(ds, { batchSize: 5, dropLast: true }).length).toBe(2);
    expect(new data.DataLoader(ds, { batchSize: 20, dropLast: true }).length).toBe(0);
    expect(labels(new data.DataLoader(ds, { batchSize: 20, dropLast: true }))).toEqual([]);
    expect(new data.DataLoader(ds).length).toBe(10);
    dispose();
  });

  it('shuffles the same way for the same seed, differently each epoch, and sees every sample once', () => {
    const { ds, dispose } = rows(23);
    const epochs = (seed: number) => {
      const loader = new data.DataLoader(ds, { batchSize: 5, shuffle: true, generator: new mz.Generator(seed) });
      return [labels(loader), labels(loader), labels(loader)];
    };
    const run = epochs(42);
    expect(epochs(42)).toEqual(run);
    expect(epochs(43)[0]).not.toEqual(run[0]);
    expect(run[1]).not.toEqual(run[0]);
    expect(run[2]).not.toEqual(run[1]);
    for (const epoch of run) {
      expect(epoch.map((b) => b.length)).toEqual([5, 5, 5, 5, 3]);
      expect(epoch.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 23 }, (_, i) => i));
    }
    expect(run[0]!.flat()).not.toEqual(Array.from({ length: 23 }, (_, i) => i));
    // dropLast with shuffle: distinct samples, the left-overs differ per epoch.
    const dl = new data.DataLoader(ds, { batchSize: 5, shuffle: true, dropLast: true, generator: new mz.Generator(1) });
    const seen = labels(dl).flat();
    expect(seen).toHaveLength(20);
    expect(new Set(seen).size).toBe(20);
    dispose();
  });

  it('uses getBatch (one indexSelect per tensor) for TensorDataset and its Subsets', () => {
    const { x, y, dispose } = rows(8);
    class NoSingleRows extends data.TensorDataset {
      override get(): Tensor[] {
        throw new Error('get() called: the loader should gather whole batches');
      }
    }
    const ds = new NoSingleRows(x, y);
    expect(labels(new data.DataLoader(ds, { batchSize: 3 }))).toEqual([[0, 1, 2], [3, 4, 5], [6, 7]]);
    const sub = new data.Subset(ds, [7, 2, 5]);
    expect(labels(new data.DataLoader(sub, { batchSize: 2 }))).toEqual([[7, 2], [5]]);
    // A custom collate sees the samples, so it goes through get().
    expect(() => [...new data.DataLoader(ds, { batchSize: 2, collate: (s) => s })]).toThrow(/get\(\) called/);
    dispose();
  });

  it('collates tuple and object samples field by field', () => {
    const ds = {
      length: 5,
      get: (i: number) => ({ image: mz.full([2, 2], i), label: i, weight: i / 4, valid: i % 2 === 0, name: `s${i}`, pair: [mz.tensor([i, -i]), i * 10] as [Tensor, number] }),
    };
    const loader = new data.DataLoader(ds, { batchSize: 3 });
    const [b0, b1] = [...loader];
    expect(b0!.image.shape).toEqual([3, 2, 2]);
    expect((b0!.image.tolist() as number[][][]).map((m) => m[1]![1])).toEqual([0, 1, 2]);
    expect(b0!.label.dtype).toBe('int32');
    expect(b0!.label.tolist()).toEqual([0, 1, 2]);
    expect(b0!.weight.dtype).toBe('float64');
    expect(b0!.weight.tolist()).toEqual([0, 0.25, 0.5]);
    expect(b0!.valid.dtype).toBe('bool');
    expect(b0!.valid.tolist()).toEqual([1, 0, 1]);
    expect(b0!.name).toEqual(['s0', 's1', 's2']);
    expect(b0!.pair[0].tolist()).toEqual([[0, -0], [1, -1], [2, -2]]);
    expect(b0!.pair[1].tolist()).toEqual([0, 10, 20]);
    expect(b1!.label.tolist()).toEqual([3, 4]);
    // Tuples of tensors.
    const tuples = { length: 4, get: (i: number) => [mz.tensor([i, i]), mz.tensor(i * 2)] as const };
    const [t0] = new data.DataLoader(tuples, { batchSize: 4 });
    expect(t0![0].tolist()).toEqual([[0, 0], [1, 1], [2, 2], [3, 3]]);
    expect(t0![1].tolist()).toEqual([0, 2, 4, 6]);
    for (const b of [b0!, b1!]) [b.image, b.label, b.weight, b.valid, b.pair[0], b.pair[1]].forEach((t) => t.dispose());
    t0!.forEach((t) => t.dispose());
  });

  it('frees the per-sample tensors it stacks; the batch is all that remains', () => {
    const ds = { length: 6, get: (i: number) => [mz.ones([3]).mul(i), mz.tensor(i)] };
    const loader = new data.DataLoader(ds, { batchSize: 3 });
    const before = mz.memory().tensors;
    const it = loader[Symbol.iterator]();
    const batch = it.next().value as Tensor[];
    expect(mz.memory().tensors - before).toBe(2);
    batch.forEach((t) => t.dispose());
    mz.scope(() => {
      for (const b of loader) b[0]!.sum();
    });
    expect(mz.memory().tensors).toBe(before);
  });

  it('is async-iterable too', async () => {
    const { ds, dispose } = rows(7);
    const seen: number[][] = [];
    for await (const [xb, yb] of new data.DataLoader(ds, { batchSize: 3 })) {
      seen.push(yb!.tolist() as number[]);
      xb!.dispose();
      yb!.dispose();
    }
    expect(seen).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    dispose();
  });

  it('rejects bad options and datasets', () => {
    const { ds, dispose } = rows(4);
    expect(() => new data.DataLoader(ds, { batchSize: 0 })).toThrow(/DataLoader: batchSize must be a positive integer, got 0/);
    expect(() => new data.DataLoader(ds, { batchSize: 2.5 })).toThrow(/batchSize must be a positive integer, got 2.5/);
    expect(() => new data.DataLoader({ length: 3 } as never)).toThrow(/dataset must have an integer length and a get\(index\) method/);
    expect(() => new data.DataLoader(ds, { collate: 5 as never })).toThrow(/collate must be a function/);
    dispose();
  });
});

describe('defaultCollate errors', () => {
  it('names the sample and field that does not fit', () => {
    const a = mz.zeros([2]);
    const b = mz.zeros([3]);
    expect(() => data.defaultCollate([{ x: a }, { x: b }])).toThrow(/defaultCollate: sample 1 at x has shape \[3\], sample 0 has \[2\]/);
    expect(() => data.defaultCollate([[a, 1], [a]])).toThrow(/sample 1 has 1 elements, sample 0 has 2/);
    expect(() => data.defaultCollate([{ x: 1, y: 2 }, { x: 1 }])).toThrow(/sample 1 lacks key 'y'/);
    expect(() => data.defaultCollate([{ x: 1 }, { x: 1, z: 2 }])).toThrow(/sample 1 has an extra key 'z'/);
    expect(() => data.defaultCollate([{ x: [1, 2] }, { x: [1, 'a'] }])).toThrow(/sample 1 at x\[1\] is string, expected a number like sample 0/);
    expect(() => data.defaultCollate([null, null])).toThrow(/cannot collate null/);
    expect(() => data.defaultCollate([new Date(), new Date()])).toThrow(/cannot collate Date/);
    expect(() => data.defaultCollate([])).toThrow(/expected a non-empty list of samples/);
    a.dispose();
    b.dispose();
  });
});

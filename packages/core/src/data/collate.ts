/**
 * Default collation (PyTorch `default_collate`): turns a list of samples into one batch, field by
 * field. Tensors are stacked along a new first dim; numbers become a 1-D tensor (PyTorch makes int64
 * from Python ints and float64 from floats; JS cannot tell 1 from 1.0, so a batch whose numbers are
 * all integers becomes int32 and any other float64: return tensors from `get` for float data that
 * may hold whole numbers); booleans a bool tensor; strings stay a list; arrays (tuples) and plain
 * objects are collated per position / key, recursively.
 */
import { tensor } from '../creation.js';
import { stack } from '../ops/composite.js';
import { fmtShape, OpError } from '../shape.js';
import { Tensor } from '../tensor.js';

/** The batch type `defaultCollate` makes from samples of type T. */
export type Collated<T> = T extends Tensor | number | boolean
  ? Tensor
  : T extends string
    ? string[]
    : T extends readonly unknown[]
      ? { -readonly [K in keyof T]: Collated<T[K]> }
      : T extends object
        ? { [K in keyof T]: Collated<T[K]> }
        : never;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v instanceof Tensor) return `a Tensor ${fmtShape(v.shape)}`;
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

function collate(samples: readonly unknown[], path: string): unknown {
  const first = samples[0];
  const at = path ? ` at ${path}` : '';
  const mismatch = (i: number, expected: string) =>
    new OpError('defaultCollate', `sample ${i}${at} is ${describe(samples[i])}, expected ${expected} like sample 0`);

  if (first instanceof Tensor) {
    samples.forEach((s, i) => {
      if (!(s instanceof Tensor)) throw mismatch(i, 'a Tensor');
      if (s.shape.join() !== first.shape.join()) throw new OpError('defaultCollate', `sample ${i}${at} has shape ${fmtShape(s.shape)}, sample 0 has ${fmtShape(first.shape)}`);
    });
    return stack(samples as Tensor[], 0);
  }
  if (typeof first === 'number') {
    samples.forEach((s, i) => {
      if (typeof s !== 'number') throw mismatch(i, 'a number');
    });
    const nums = samples as number[];
    const ints = nums.every((v) => Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31);
    return tensor(ints ? Int32Array.from(nums) : Float64Array.from(nums));
  }
  if (typeof first === 'boolean') {
    samples.forEach((s, i) => {
      if (typeof s !== 'boolean') throw mismatch(i, 'a boolean');
    });
    return tensor(samples as boolean[]);
  }
  if (typeof first === 'string') {
    samples.forEach((s, i) => {
      if (typeof s !== 'string') throw mismatch(i, 'a string');
    });
    return [...samples];
  }
  if (Array.isArray(first)) {
    samples.forEach((s, i) => {
      if (!Array.isArray(s)) throw mismatch(i, 'an array');
      if (s.length !== first.length) throw new OpError('defaultCollate', `sample ${i}${at} has ${s.length} elements, sample 0 has ${first.length}; every sample must have the same length`);
    });
    return first.map((_, k) => collate(samples.map((s) => (s as unknown[])[k]), `${path}[${k}]`));
  }
  if (isPlainObject(first)) {
    const keys = Object.keys(first);
    samples.forEach((s, i) => {
      if (!isPlainObject(s)) throw mismatch(i, 'an object');
      const sk = Object.keys(s);
      const missing = keys.find((k) => !(k in s)) ?? sk.find((k) => !(k in first));
      if (missing !== undefined) throw new OpError('defaultCollate', `sample ${i}${at} ${missing in s ? 'has an extra' : 'lacks'} key '${missing}'; every sample must have the keys of sample 0 (${keys.join(', ')})`);
    });
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = collate(samples.map((s) => (s as Record<string, unknown>)[k]), path ? `${path}.${k}` : k);
    return out;
  }
  throw new OpError('defaultCollate', `cannot collate ${describe(first)}${at}; samples must be tensors, numbers, booleans, strings, arrays or plain objects (pass a collate function for others)`);
}

/** Collates samples into a batch (see the module comment); tensors it creates belong to the caller. */
export function defaultCollate<T>(samples: readonly T[]): Collated<T> {
  if (!Array.isArray(samples) || samples.length === 0) throw new OpError('defaultCollate', 'expected a non-empty list of samples');
  return collate(samples, '') as Collated<T>;
}

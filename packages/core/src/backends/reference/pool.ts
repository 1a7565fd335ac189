/**
 * Recycles the reference backend's large output buffers. A training step allocates the same
 * shapes every iteration; handing back buffers the scope just released avoids fresh pages
 * (page faults and zeroing by the OS) and garbage-collector pressure from external memory.
 *
 * Only arrays this pool allocated are ever recycled: a buffer that came in through `upload`
 * (user data, views into a file) is left alone, and a buffer released twice is taken back once.
 */
import type { DType, TypedArray } from '../../dtype.js';

/** Below this many elements V8's own allocation is as cheap as a pool lookup. */
const MIN_POOLED = 4096;
/** Upper bound on idle pooled bytes, so a peak in one phase does not pin memory for good. */
const MAX_IDLE_BYTES = 256 * 1024 * 1024;
/** Idle buffers kept per (dtype, length). */
const MAX_PER_KEY = 8;

const idle = new Map<string, TypedArray[]>();
let idleBytes = 0;
/** Buffers handed out by `take` and not yet returned. */
const outstanding = new WeakSet<TypedArray>();

function make(dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(size);
    case 'float64':
      return new Float64Array(size);
    case 'int32':
      return new Int32Array(size);
    case 'bool':
      return new Uint8Array(size);
  }
}

/**
 * A buffer of `size` elements of `dtype`. With `zero` false the contents are arbitrary: use it only
 * when the kernel writes every element.
 */
export function take(dtype: DType, size: number, zero: boolean): TypedArray {
  if (size < MIN_POOLED) return make(dtype, size);
  const list = idle.get(`${dtype}:${size}`);
  const reused = list?.pop();
  let out: TypedArray;
  if (reused) {
    idleBytes -= reused.byteLength;
    if (zero) reused.fill(0);
    out = reused;
  } else out = make(dtype, size);
  outstanding.add(out);
  return out;
}

/** Returns a buffer nothing references any more. */
export function give(buf: TypedArray): void {
  if (!outstanding.has(buf)) return;
  outstanding.delete(buf);
  if (idleBytes + buf.byteLength > MAX_IDLE_BYTES) return;
  const key = `${dtypeTag(buf)}:${buf.length}`;
  let list = idle.get(key);
  if (!list) idle.set(key, (list = []));
  if (list.length >= MAX_PER_KEY) return;
  list.push(buf);
  idleBytes += buf.byteLength;
}

function dtypeTag(buf: TypedArray): DType {
  return buf instanceof Float32Array ? 'float32' : buf instanceof Float64Array ? 'float64' : buf instanceof Int32Array ? 'int32' : 'bool';
}

/** Drops every idle buffer (for tests and for callers that want the memory back now). */
export function clearPool(): void {
  idle.clear();
  idleBytes = 0;
}

/** Idle buffers and their bytes. */
export function poolStats(): { buffers: number; bytes: number } {
  let buffers = 0;
  for (const list of idle.values()) buffers += list.length;
  return { buffers, bytes: idleBytes };
}

/**
 * Kernels written directly on tfjs-backend-wasm's memory. Outside XNNPACK (matmul, convolution,
 * plain elementwise arithmetic), tfjs-wasm's kernels are scalar loops that index every element
 * through its broadcast coordinates: its comparisons, Select, Tile, Slice and GatherV2 run at 5-100
 * ns per element. Data movement (transposes, slices, pads, concatenation, broadcasts), the relu
 * gradient and sums run in kernels.wat, a small WebAssembly module instantiated on that same
 * memory (0.3-1 ns per element). Other ops run the reference backend's loops (`arrayKernels`) on
 * views of the operands' bytes and write an output allocated there. Nothing is copied in or out.
 */
import { arrayKernels, type Conv2dGeometry, type DType, type TypedArray } from '@methodzoo/core';
import type { Tf, TfTensor } from './kernels.js';
import { KERNELS_PLAIN_MEMORY, KERNELS_SHARED_MEMORY } from './wasm/kernels.generated.js';

interface WasmBackendInternals {
  getMemoryOffset(dataId: unknown): number;
  makeOutput(shape: number[], dtype: string): { dataId: unknown; shape: number[]; dtype: string };
  wasm: { HEAPF32: Float32Array; wasmMemory?: WasmMemory; asm?: { memory?: WasmMemory }; _malloc(bytes: number): number };
}
interface WasmMemory {
  readonly buffer: ArrayBufferLike;
}
// the library's lib settings leave out the WebAssembly namespace; these are the two calls used
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
};
/** The exports of kernels.wat: pointers are byte offsets, counts and strides 4-byte elements. */
interface WatKernels {
  relu_backward(g: number, x: number, out: number, n: number): void;
  copy4d(src: number, dst: number, n0: number, n1: number, n2: number, n3: number, s0: number, s1: number, s2: number, s3: number, d0: number, d1: number, d2: number, d3: number): void;
  sum_outer_inner(x: number, out: number, a: number, b: number, c: number): void;
  sum_rows(x: number, out: number, a: number, b: number): void;
  gemm(a: number, b: number, out: number, batch: number, m: number, n: number, k: number, sab: number, sam: number, sak: number, sbb: number, sbk: number): void;
  extremum4d(op: number, a: number, b: number, out: number, n0: number, n1: number, n2: number, n3: number, a0: number, a1: number, a2: number, a3: number, b0: number, b1: number, b2: number, b3: number): void;
}
interface EngineInternals {
  makeTensorFromTensorInfo(info: unknown): TfTensor;
}

export interface WasmHeap {
  /** A typed array over the tensor's bytes (float32, int32, or bool as bytes). */
  view(t: TfTensor): TypedArray;
  /** A new tensor on the heap, uninitialised. */
  alloc(shape: number[], dtype: DType): TfTensor;
  /** The tensor's byte offset in the heap. */
  offset(t: TfTensor): number;
  /** kernels.wat, instantiated on the heap's memory. */
  wat: WatKernels;
  /** Byte offset of a 4-byte 0 that lives as long as the heap (the source of zero fills). */
  zero: number;
}

/** Direct access to tfjs-backend-wasm's heap; null on any other tfjs backend. */
export function wasmHeap(tf: Tf): WasmHeap | null {
  if (tf.getBackend() !== 'wasm') return null;
  const be = tf.findBackend('wasm') as unknown as WasmBackendInternals;
  const engine = tf.engine() as unknown as EngineInternals;
  if (typeof be.getMemoryOffset !== 'function' || typeof be.makeOutput !== 'function' || typeof engine.makeTensorFromTensorInfo !== 'function') return null;
  const memory = be.wasm.wasmMemory ?? be.wasm.asm?.memory;
  if (!memory) return null;
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  const bytes = Uint8Array.from(atob(shared ? KERNELS_SHARED_MEMORY : KERNELS_PLAIN_MEMORY), (ch) => ch.charCodeAt(0));
  let wat: WatKernels;
  try {
    // under 4 KB (the build checks), so browsers allow synchronous compilation too
    wat = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports as unknown as WatKernels;
  } catch {
    // an engine that refuses the module (no SIMD, say) keeps the tfjs-op routes
    return null;
  }
  // the heap can grow (and its buffer be replaced) on any allocation: look it up per call
  const buffer = () => memory.buffer;
  const zero = be.wasm._malloc(4);
  new Int32Array(memory.buffer, zero, 1)[0] = 0;
  return {
    wat,
    zero,
    offset: (t) => be.getMemoryOffset(t.dataId),
    view(t) {
      const offset = be.getMemoryOffset(t.dataId);
      if (t.dtype === 'float32') return new Float32Array(buffer(), offset, t.size);
      if (t.dtype === 'int32') return new Int32Array(buffer(), offset, t.size);
      if (t.dtype === 'bool') return new Uint8Array(buffer(), offset, t.size);
      throw new Error(`no heap view for dtype ${t.dtype}`);
    },
    alloc: (shape, dtype) => engine.makeTensorFromTensorInfo(be.makeOutput(shape, dtype)),
  };
}

/**
 * im2col of x [N, C, H, W] (4-byte elements) in one of three layouts: `batch-major` [N, C*kh*kw,
 * OH*OW] (the unfold primitive), `tap-major` [C*kh*kw, N*OH*OW] and `pixel-major` [N*OH*OW,
 * C*kh*kw] (the two operands a convolution's GEMMs take). One strided copy per kernel tap; taps
 * that reach into the padding read zeros.
 */
export function im2colOnHeap(heap: WasmHeap, x: TfTensor, g: Conv2dGeometry, oh: number, ow: number, layout: 'batch-major' | 'tap-major' | 'pixel-major'): TfTensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [kh, kw] = g.kernel;
  const [sh, sw] = g.stride;
  const L = oh * ow;
  const taps = kh * kw;
  const ck = c * taps;
  const out = heap.alloc(layout === 'batch-major' ? [n, ck, L] : layout === 'tap-major' ? [ck, n * L] : [n * L, ck], x.dtype as DType);
  // strides of a tap's entries along (channel, batch, output row, output column), and between taps
  const { along, tap } = {
    'batch-major': { along: [taps * L, ck * L, ow, 1], tap: L },
    'tap-major': { along: [taps * n * L, L, ow, 1], tap: n * L },
    'pixel-major': { along: [taps, L * ck, ow * ck, ck], tap: 1 },
  }[layout];
  // outputs o with 0 <= o * s + off < size
  const inside = (off: number, s: number, size: number, count: number): [number, number] => {
    const lo = Math.min(count, Math.max(0, Math.ceil(-off / s)));
    return [lo, Math.max(lo, Math.min(count, Math.ceil((size - off) / s)))];
  };
  const box = (rows: number, cols: number) => [c, n, rows, cols];
  const at = (row: number, col: number) => row * along[2]! + col * along[3]!;
  for (let ki = 0; ki < kh; ki++) {
    for (let kj = 0; kj < kw; kj++) {
      const iy = ki * g.dilation[0] - g.padding[0];
      const ix = kj * g.dilation[1] - g.padding[1];
      const [oy0, oy1] = inside(iy, sh, h, oh);
      const [ox0, ox1] = inside(ix, sw, w, ow);
      const to = (ki * kw + kj) * tap;
      // outputs whose window tap falls on the padding: rows above and below, columns left and right
      zeroFill(heap, out, box(oy0, ow), along, to);
      zeroFill(heap, out, box(oh - oy1, ow), along, to + at(oy1, 0));
      zeroFill(heap, out, box(oy1 - oy0, ox0), along, to + at(oy0, 0));
      zeroFill(heap, out, box(oy1 - oy0, ow - ox1), along, to + at(oy0, ox1));
      const from = (oy0 * sh + iy) * w + ox0 * sw + ix;
      stridedCopy(heap, x, out, box(oy1 - oy0, ox1 - ox0), [h * w, c * h * w, sh * w, sw], along, from, to + at(oy0, ox0));
    }
  }
  return out;
}

/** cols [N, C*kh*kw, OH*OW] -> [N, C, H, W], overlapping windows summed. */
export function foldOnHeap(heap: WasmHeap, cols: TfTensor, g: Conv2dGeometry, outShape: number[], oh: number): TfTensor {
  const out = heap.alloc(outShape, cols.dtype as DType);
  const img = heap.view(out).fill(0);
  arrayKernels.foldKernel(heap.view(cols), g, img, outShape, [oh, cols.shape[2]! / oh]);
  return out;
}

/**
 * The sub-pixel phases of a strided convolution's input gradient, put together: phase (rh, rw)
 * [N, QH, QW, C] (NHWC; null where the phase has no taps, i.e. zeros) holds padded-input rows
 * q * sh + rh and columns q * sw + rw; the result is [N, C, H, W] without the padding. One pass
 * replaces a concat, a 6-D transpose, a crop and an NHWC -> NCHW transpose.
 */
export function interleavePhasesOnHeap(heap: WasmHeap, phases: (TfTensor | null)[], stride: [number, number], padding: [number, number], outShape: [number, number, number, number]): TfTensor {
  const [n, c, h, w] = outShape;
  const [sh, sw] = stride;
  const [ph, pw] = padding;
  const out = heap.alloc(outShape, 'float32');
  if (phases.includes(null)) heap.view(out).fill(0);
  phases.forEach((phase, r) => {
    if (!phase) return;
    const [, qh, qw] = phase.shape as [number, number, number, number];
    const [rh, rw] = [Math.floor(r / sw), r % sw];
    // phase rows/columns that land inside the unpadded image
    const qy0 = Math.max(0, Math.ceil((ph - rh) / sh));
    const qy1 = Math.min(qh, Math.ceil((h + ph - rh) / sh));
    const qx0 = Math.max(0, Math.ceil((pw - rw) / sw));
    const qx1 = Math.min(qw, Math.ceil((w + pw - rw) / sw));
    const box = [n, c, qy1 - qy0, qx1 - qx0];
    const from = [qh * qw * c, 1, qw * c, c];
    const to = [c * h * w, h * w, sh * w, sw];
    stridedCopy(heap, phase, out, box, from, to, (qy0 * qw + qx0) * c, (qy0 * sh + rh - ph) * w + qx0 * sw + rw - pw);
  });
  return out;
}

/** Row-major strides of `shape`, in elements. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  for (let d = shape.length - 1, acc = 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d]!;
  }
  return s;
}

/**
 * dst[dstOffset + sum_d i_d * dstStrides[d]] = src[srcOffset + sum_d i_d * srcStrides[d]] for every
 * index i in `shape` (4-byte elements; offsets and strides in elements). Dims contiguous on both
 * sides merge; ranks beyond 4 loop here over the outer dims. `src` may be a byte offset (heap.zero).
 */
export function stridedCopy(heap: WasmHeap, src: TfTensor | number, dst: TfTensor, shape: readonly number[], srcStrides: readonly number[], dstStrides: readonly number[], srcOffset = 0, dstOffset = 0): void {
  const box = collapse(shape, [srcStrides, dstStrides]);
  const srcBase = (typeof src === 'number' ? src : heap.offset(src)) + 4 * srcOffset;
  if (box) each4d(box, [srcBase, heap.offset(dst) + 4 * dstOffset], (n, [ss, ds], [s, q]) => heap.wat.copy4d(s!, q!, ...n, ...ss!, ...ds!));
}

type Four = [number, number, number, number];
interface Box {
  n: number[];
  strides: number[][];
}

/**
 * `shape` without its size-1 dims, neighbours merged where every operand's strides allow, padded
 * in front to rank 4; null when it has no elements.
 */
function collapse(shape: readonly number[], strides: readonly (readonly number[])[]): Box | null {
  const n: number[] = [];
  const st: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 0) return null;
    if (shape[d] === 1) continue;
    const last = n.length - 1;
    if (last >= 0 && strides.every((s, k) => st[k]![last] === s[d]! * shape[d]!)) {
      n[last]! *= shape[d]!;
      strides.forEach((s, k) => (st[k]![last] = s[d]!));
    } else {
      n.push(shape[d]!);
      strides.forEach((s, k) => st[k]!.push(s[d]!));
    }
  }
  while (n.length < 4) {
    n.unshift(1);
    for (const s of st) s.unshift(0);
  }
  return { n, strides: st };
}

/** Calls `run` on each rank-4 part of `box`, in order (dims beyond four loop here); bases in bytes. */
function each4d(box: Box, bases: number[], run: (n: Four, strides: Four[], bases: number[]) => void): void {
  const { n, strides } = box;
  const go = (lead: number, at: number[]): void => {
    if (n.length - lead > 4) {
      for (let i = 0; i < n[lead]!; i++) go(lead + 1, at.map((b, k) => b + 4 * i * strides[k]![lead]!));
      return;
    }
    run(n.slice(lead) as Four, strides.map((s) => s.slice(lead) as Four), at);
  };
  go(0, bases);
}

/** float32 maximum or minimum of a and b broadcast to `shape`, bit for bit the reference's result. */
export function extremumOnHeap(heap: WasmHeap, op: 'maximum' | 'minimum', a: TfTensor, b: TfTensor, shape: readonly number[]): TfTensor {
  const out = heap.alloc([...shape], 'float32');
  const box = collapse(shape, [broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape)]);
  let at = heap.offset(out);
  // out is contiguous: each part continues where the last ended
  if (box) {
    each4d(box, [heap.offset(a), heap.offset(b)], (n, [sa, sb], [pa, pb]) => {
      heap.wat.extremum4d(op === 'maximum' ? 0 : 1, pa!, pb!, at, ...n, ...sa!, ...sb!);
      at += 4 * n[0] * n[1] * n[2] * n[3];
    });
  }
  return out;
}

/** Element strides of a tensor of `shape` read as `target` (0 along broadcast dims). */
function broadcastStrides(shape: readonly number[], target: readonly number[]): number[] {
  const s = contiguousStrides(shape);
  const lead = target.length - shape.length;
  return target.map((_, d) => (d < lead || shape[d - lead] === 1 ? 0 : s[d - lead]!));
}

/** Zeros the box `shape` of dst (strides and offset in elements). */
function zeroFill(heap: WasmHeap, dst: TfTensor, shape: readonly number[], strides: readonly number[], offset: number): void {
  stridedCopy(heap, heap.zero, dst, shape, shape.map(() => 0), strides, 0, offset);
}

/**
 * float32 batched matmul a [Ba, M, K] (or [Ba, K, M] with transA) by b [Bb, K, N] (or [Bb, N, K]
 * with transB), a batch of 1 broadcast: kernels.wat's GEMM, for products too small for XNNPACK.
 */
export function gemmOnHeap(heap: WasmHeap, a: TfTensor, b: TfTensor, transA: boolean, transB: boolean, permute: (x: TfTensor, perm: number[]) => TfTensor): TfTensor {
  const [ba, ra, ca] = a.shape as [number, number, number];
  const [bb] = b.shape as [number, number, number];
  const [m, k] = transA ? [ca, ra] : [ra, ca];
  // the kernel walks b's rows with unit stride along N
  const right = transB ? permute(b, [0, 2, 1]) : b;
  const n = right.shape[2]!;
  const batch = Math.max(ba, bb);
  const out = heap.alloc([batch, m, n], 'float32');
  const [sam, sak] = transA ? [1, m] : [k, 1];
  heap.wat.gemm(heap.offset(a), heap.offset(right), heap.offset(out), batch, m, n, k, ba === 1 ? 0 : m * k, sam, sak, bb === 1 ? 0 : k * n, n);
  return out;
}

/** float32 and int32: the element size kernels.wat moves. */
export const wordSized = (t: { dtype: string }): boolean => t.dtype === 'float32' || t.dtype === 'int32';

/** x with its dims in the order `perm`, walked in output order (writes contiguous). */
export function permuteOnHeap(heap: WasmHeap, x: TfTensor, perm: readonly number[]): TfTensor {
  const shape = perm.map((p) => x.shape[p]!);
  const out = heap.alloc(shape, x.dtype as DType);
  const xs = contiguousStrides(x.shape);
  stridedCopy(heap, x, out, shape, perm.map((p) => xs[p]!), contiguousStrides(shape));
  return out;
}

/** x broadcast to `shape` (numpy rules: leading dims added, size-1 dims repeated). */
export function expandOnHeap(heap: WasmHeap, x: TfTensor, shape: readonly number[]): TfTensor {
  const out = heap.alloc([...shape], x.dtype as DType);
  stridedCopy(heap, x, out, shape, broadcastStrides(x.shape, shape), contiguousStrides(shape));
  return out;
}

/** out = x[begin :: step] per dim, `outShape` elements. */
export function sliceOnHeap(heap: WasmHeap, x: TfTensor, begin: readonly number[], step: readonly number[], outShape: readonly number[]): TfTensor {
  const out = heap.alloc([...outShape], x.dtype as DType);
  const xs = contiguousStrides(x.shape);
  const offset = begin.reduce((acc, b, d) => acc + b * xs[d]!, 0);
  stridedCopy(heap, x, out, outShape, xs.map((s, d) => s * step[d]!), contiguousStrides(outShape), offset);
  return out;
}

/** Writes x into dst at `begin` with `step` per dim (the rest of dst untouched). */
export function placeOnHeap(heap: WasmHeap, x: TfTensor, dst: TfTensor, begin: readonly number[], step: readonly number[]): void {
  const ds = contiguousStrides(dst.shape);
  const offset = begin.reduce((acc, b, d) => acc + b * ds[d]!, 0);
  stridedCopy(heap, x, dst, x.shape, contiguousStrides(x.shape), ds.map((s, d) => s * step[d]!), 0, offset);
}

/**
 * The float32 sum of x over `axes` (kept as size 1) when the reduced and kept dims form at most
 * [reduced, kept, reduced] blocks (a bias gradient, a row or column sum, a total); null otherwise.
 */
export function sumOnHeap(heap: WasmHeap, x: TfTensor, axes: readonly number[], outShape: readonly number[]): TfTensor | null {
  const blocks: { reduced: boolean; size: number }[] = [];
  x.shape.forEach((size, d) => {
    if (size === 1) return;
    const reduced = axes.includes(d);
    const last = blocks[blocks.length - 1];
    if (last && last.reduced === reduced) last.size *= size;
    else blocks.push({ reduced, size });
  });
  if (!blocks[0]?.reduced) blocks.unshift({ reduced: true, size: 1 });
  if (blocks.length === 1) blocks.push({ reduced: false, size: 1 });
  if (blocks.length === 2) blocks.push({ reduced: true, size: 1 });
  if (blocks.length !== 3) return null;
  const [a, b, c] = blocks.map((k) => k.size) as [number, number, number];
  const out = heap.alloc([...outShape], 'float32');
  // a total (one kept element) runs four lanes along the whole tensor
  if (b === 1) heap.wat.sum_outer_inner(heap.offset(x), heap.offset(out), 1, 1, a * c);
  else if (c === 1) heap.wat.sum_rows(heap.offset(x), heap.offset(out), a, b);
  else heap.wat.sum_outer_inner(heap.offset(x), heap.offset(out), a, b, c);
  return out;
}

/**
 * The core's primitives as TensorFlow.js ops. Every kernel gets tfjs tensors (reshaped to the view
 * the engine asks for, since the engine's reshape shares a handle under a new shape), runs inside
 * `tidy` so intermediates are freed, and returns a tensor of its own. Calls a kernel does not
 * cover the way the reference does (an int32 `exp`, say) throw `KernelFallback` with the reason,
 * and the engine runs the reference kernel instead. Convolution and its two gradients are fused
 * kernels built on XNNPACK calls, so training never touches tfjs-wasm's missing
 * `Conv2DBackpropFilter` or its slow `Conv2DBackpropInput`. On tfjs-wasm, data movement and a few
 * loops run on its heap (heap.ts); elsewhere every kernel is tfjs ops.
 */
import { arrayKernels, type Conv2dAttrs, type Conv2dGeometry, type DType, type Kernel, KernelFallback, type KernelTable, type KernelTensor, type PrimAttrs, type PrimName, type TypedArray } from '@methodzoo/core';
import type * as tfc from '@tensorflow/tfjs-core';
import { contiguousStrides, expandOnHeap, extremumOnHeap, gemmOnHeap, foldOnHeap, im2colOnHeap, interleavePhasesOnHeap, permuteOnHeap, placeOnHeap, sliceOnHeap, sumOnHeap, wasmHeap, wordSized, type WasmHeap } from './heap.js';

/** The tfjs namespace the kernels run on (tfjs-core, or the `@tensorflow/tfjs-node` module). */
export type Tf = typeof tfc;
export type TfTensor = tfc.Tensor;
type Out = { shape: number[]; dtype: DType };

const FLOAT_UNARY = {
  neg: 'neg', abs: 'abs', exp: 'exp', log: 'log', log1p: 'log1p', sqrt: 'sqrt', rsqrt: 'rsqrt', sin: 'sin', cos: 'cos',
  tanh: 'tanh', sigmoid: 'sigmoid', relu: 'relu', erf: 'erf', floor: 'floor',
} as const;

/** Index tables for unfold/fold/gather, by geometry: kept on the backend, the oldest freed past 64. */
class IndexCache {
  private readonly map = new Map<string, TfTensor>();
  constructor(private readonly tf: Tf) {}
  get(key: string, make: () => Int32Array, shape: number[]): TfTensor {
    let t = this.map.get(key);
    if (t) {
      this.map.delete(key);
      this.map.set(key, t);
      return t;
    }
    const data = make();
    t = this.tf.keep(this.tf.tensor(data, shape, 'int32'));
    this.map.set(key, t);
    if (this.map.size > 64) {
      const [oldKey, old] = this.map.entries().next().value as [string, TfTensor];
      this.map.delete(oldKey);
      old.dispose();
    }
    return t;
  }
  clear(): void {
    for (const t of this.map.values()) t.dispose();
    this.map.clear();
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Flat input offset of each im2col entry (row (c, ki, kj), column (oy, ox)) in the zero-padded
 * image [C, H + 2ph, W + 2pw]: the same for every batch element.
 */
function im2colIndex(c: number, h: number, w: number, g: Conv2dGeometry, oh: number, ow: number): Int32Array {
  const [kh, kw] = g.kernel;
  const [sh, sw] = g.stride;
  const [dh, dw] = g.dilation;
  const hp = h + 2 * g.padding[0];
  const wp = w + 2 * g.padding[1];
  const L = oh * ow;
  const idx = new Int32Array(c * kh * kw * L);
  let k = 0;
  for (let ch = 0; ch < c; ch++) {
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++) {
        for (let oy = 0; oy < oh; oy++) {
          const row = ch * hp * wp + (oy * sh + ki * dh) * wp + kj * dw;
          for (let ox = 0; ox < ow; ox++) idx[k++] = row + ox * sw;
        }
      }
    }
  }
  return idx;
}

/**
 * Flat indices into [...w, 0] (w [O, C, kh, kw]) of the sub-pixel backward-input filter
 * [mh, mw, O, (rh, rw, C)]: tap u of phase r holds w[r + (m - 1 - u) * s], or the zero past the
 * end where that tap is beyond the kernel.
 */
function subPixelFilterIndex(o: number, cg: number, kh: number, kw: number, sh: number, sw: number, mh: number, mw: number): Int32Array {
  const zero = o * cg * kh * kw;
  const idx = new Int32Array(mh * mw * o * sh * sw * cg);
  let i = 0;
  for (let a = 0; a < mh; a++) {
    for (let b = 0; b < mw; b++) {
      for (let oc = 0; oc < o; oc++) {
        for (let rh = 0; rh < sh; rh++) {
          const th = rh + (mh - 1 - a) * sh;
          for (let rw = 0; rw < sw; rw++) {
            const tw = rw + (mw - 1 - b) * sw;
            for (let c = 0; c < cg; c++) idx[i++] = th >= kh || tw >= kw ? zero : ((oc * cg + c) * kh + th) * kw + tw;
          }
        }
      }
    }
  }
  return idx;
}

/** out[i] = src[idx[i]], with an index one past the end reading 0. */
function gatherHost(src: Float32Array, idx: Int32Array): Float32Array {
  const out = new Float32Array(idx.length);
  for (let i = 0; i < idx.length; i++) out[i] = idx[i]! < src.length ? src[idx[i]!]! : 0;
  return out;
}

/** Output rows of a convolution over `h` input rows. */
const outRows = (h: number, g: Conv2dGeometry) => Math.floor((h + 2 * g.padding[0] - g.dilation[0] * (g.kernel[0] - 1) - 1) / g.stride[0]) + 1;

/** Flat offsets into x of every position of `index` (torch.gather), without the axis term. */
function gatherBase(xShape: readonly number[], iShape: readonly number[], axis: number): Int32Array {
  const xs = contiguousStrides(xShape);
  const n = iShape.reduce((a, b) => a * b, 1);
  const base = new Int32Array(n);
  const coord = new Array<number>(iShape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let off = 0;
    for (let d = 0; d < coord.length; d++) if (d !== axis) off += coord[d]! * xs[d]!;
    base[i] = off;
    for (let d = coord.length - 1; d >= 0; d--) {
      if (++coord[d]! < iShape[d]!) break;
      coord[d] = 0;
    }
  }
  return base;
}

/** Matmuls of fewer multiply-adds run in kernels.wat (float32, on tfjs-wasm's heap). */
const SMALL_GEMM_MAX = 1 << 19;

export interface TfjsKernels {
  kernels: Partial<KernelTable<TfTensor>>;
  /** Frees cached index tables (they are rebuilt on demand). */
  clearCache(): void;
}

/** Builds the kernel table on `tf`; `activate` runs before each kernel (selects the tfjs backend). */
export function makeKernels(tf: Tf, activate: () => void): TfjsKernels {
  const cache = new IndexCache(tf);
  // direct heap access exists only on tfjs-backend-wasm; other engines use the gather/scatter route
  let heapAccess: WasmHeap | null | undefined;
  const heap = () => (heapAccess === undefined ? (heapAccess = wasmHeap(tf)) : heapAccess);

  /** The handle as a tensor of the view's shape. */
  const view = (t: KernelTensor<TfTensor>): TfTensor => (sameShape(t.data.shape, t.shape) ? t.data : tf.reshape(t.data, [...t.shape]));

  function kernel<K extends PrimName>(fn: (xs: TfTensor[], attrs: PrimAttrs[K], out: Out, inputs: readonly KernelTensor<TfTensor>[]) => TfTensor): Kernel<K, TfTensor> {
    return (inputs, attrs, out) => {
      activate();
      // Empty results need no arithmetic, and several tfjs kernels reject empty inputs.
      if (out.shape.includes(0)) return tf.zeros(out.shape, out.dtype as tfc.DataType);
      return tf.tidy(() => {
        let r = fn(inputs.map(view), attrs, out, inputs);
        if (r.dtype !== out.dtype) r = tf.cast(r, out.dtype as tfc.DataType);
        if (!sameShape(r.shape, out.shape)) r = tf.reshape(r, out.shape);
        // Never hand back an input's own tensor object: each storage disposes its handle.
        for (const i of inputs) if (i.data === r) return tf.clone(r);
        return r;
      });
    };
  }

  /**
   * Runs a reference loop on tfjs-wasm's heap (views of the operands, an output allocated there);
   * undefined on other engines, whose callers take the tfjs route.
   */
  const onHeap = (xs: TfTensor[], out: Out, run: (views: TypedArray[], o: TypedArray) => void): TfTensor | undefined => {
    const h = heap();
    if (!h) return undefined;
    const r = h.alloc([...out.shape], out.dtype);
    // views only after the allocation, which may have grown (replaced) the heap's buffer
    run(xs.map((x) => h.view(x)), h.view(r));
    return r;
  };

  /** A new heap tensor filled with `fill` (null: the xs cover it), then each x written at its `place` (begin) with `step`. */
  const placedOnHeap = (h: WasmHeap, xs: TfTensor[], out: Out, fill: number | null, place: (x: TfTensor) => number[], step: readonly number[]): TfTensor => {
    const r = h.alloc([...out.shape], out.dtype);
    if (fill !== null) h.view(r).fill(fill);
    for (const x of xs) placeOnHeap(h, x, r, place(x), step);
    return r;
  };

  const refuse = (why: string): never => {
    throw new KernelFallback(why);
  };
  const isNaN = (x: TfTensor) => tf.isNaN(x);

  const unary = <K extends keyof typeof FLOAT_UNARY | 'sign'>(op: K): Kernel<K, TfTensor> =>
    kernel<K>(([x], _attrs, out) => {
      // tfjs-wasm's Sin and Cos ran at half the reference loop's speed, and sign needs two more
      // ops to keep NaN: the reference loop, on the heap
      const r = (op === 'sin' || op === 'cos' || op === 'sign') && x!.dtype === 'float32' ? onHeap([x!], out, ([v], o) => arrayKernels.unaryKernel(op as 'sin', v!, o)) : undefined;
      if (r) return r;
      if (x!.dtype === 'float32') {
        // tfjs's sign maps NaN to 0; PyTorch (and the reference) keep NaN
        if (op === 'sign') return tf.where(isNaN(x!), x!, tf.sign(x!));
        return (tf[FLOAT_UNARY[op as keyof typeof FLOAT_UNARY]] as (t: TfTensor) => TfTensor)(x!);
      }
      if (x!.dtype === 'int32') {
        if (op === 'neg') return tf.neg(x!);
        if (op === 'abs') return tf.abs(x!);
        if (op === 'sign') return tf.sign(x!);
        if (op === 'relu') return tf.maximum(x!, tf.scalar(0, 'int32'));
        if (op === 'floor') return tf.clone(x!);
      }
      return refuse(`${op} on ${x!.dtype}: the reference computes in doubles and stores as ${x!.dtype}`);
    });

  const nanPropagating = (a: TfTensor, b: TfTensor, r: TfTensor) => (a.dtype === 'float32' ? tf.where(isNaN(a), a, tf.where(isNaN(b), b, r)) : r);
  const binaryOps = {
    add: (a: TfTensor, b: TfTensor) => tf.add(a, b),
    sub: (a: TfTensor, b: TfTensor) => tf.sub(a, b),
    mul: (a: TfTensor, b: TfTensor) => tf.mul(a, b),
    div: (a: TfTensor, b: TfTensor) => (a.dtype === 'int32' ? refuse('int32 div: the reference truncates a / b toward zero, tfjs floors') : tf.div(a, b)),
    pow: (a: TfTensor, b: TfTensor) => (a.dtype === 'int32' ? refuse('int32 pow: the reference computes Math.pow in doubles') : tf.pow(a, b)),
    // tfjs's maximum/minimum drop NaN; PyTorch propagates it
    maximum: (a: TfTensor, b: TfTensor) => nanPropagating(a, b, tf.maximum(a, b)),
    minimum: (a: TfTensor, b: TfTensor) => nanPropagating(a, b, tf.minimum(a, b)),
  };
  const compareOps = {
    eq: (a: TfTensor, b: TfTensor) => tf.equal(a, b),
    ne: (a: TfTensor, b: TfTensor) => tf.notEqual(a, b),
    lt: (a: TfTensor, b: TfTensor) => tf.less(a, b),
    le: (a: TfTensor, b: TfTensor) => tf.lessEqual(a, b),
    gt: (a: TfTensor, b: TfTensor) => tf.greater(a, b),
    ge: (a: TfTensor, b: TfTensor) => tf.greaterEqual(a, b),
  };
  const asNumber = (x: TfTensor) => (x.dtype === 'bool' ? tf.cast(x, 'int32') : x);
  /**
   * x broadcast to `shape`. wasm's Tile (behind broadcastTo) is an element-by-element loop; a
   * broadcasting multiply by ones runs in XNNPACK and is exact (x * 1 keeps NaN, infinities, -0).
   */
  const broadcast = (x: TfTensor, shape: number[]): TfTensor => {
    if (sameShape(x.shape, shape)) return x;
    const v = asNumber(x);
    return tf.mul(v, tf.ones(shape, v.dtype));
  };
  /** Reductions take rank >= 1 (tfjs rejects axis 0 of a scalar); the wrapper restores the shape. */
  const atLeast1d = (x: TfTensor) => (x.rank === 0 ? tf.reshape(x, [1]) : x);

  const reduce = (kind: 'sum' | 'max' | 'min') =>
    kernel<'sum' | 'max' | 'min'>(([x], { axes }, out) => {
      // tfjs-wasm's Sum leaves its output uninitialised when the input is empty
      if (kind === 'sum' && x!.size === 0) return tf.zeros(out.shape, out.dtype as tfc.DataType);
      const h = heap();
      // tfjs-wasm transposes the reduced axes to the end first; kernels.wat sums in place
      const r = kind === 'sum' && h && x!.dtype === 'float32' ? sumOnHeap(h, x!, axes, out.shape) : null;
      if (r) return r;
      const v = atLeast1d(asNumber(x!));
      if (axes.length === 0) return tf.clone(v);
      return kind === 'sum' ? tf.sum(v, axes, true) : kind === 'max' ? tf.max(v, axes, true) : tf.min(v, axes, true);
    });
  const argReduce = (kind: 'argmax' | 'argmin') =>
    kernel<'argmax' | 'argmin'>(([x], { axis }, out) => {
      // on the heap the reference loop: 8-10x tfjs-wasm's ArgMax behind the NaN fix-up below
      const r = onHeap([x!], out, ([v], o) => arrayKernels.argReduceKernel(kind, v!, x!.shape, axis, o as Int32Array));
      if (r) return r;
      let v = atLeast1d(asNumber(x!));
      // tfjs skips NaN where PyTorch picks it: NaN becomes the extreme value (exact unless an
      // infinity of the same sign comes before the NaN)
      if (v.dtype === 'float32') v = tf.where(isNaN(v), tf.scalar(kind === 'argmax' ? Infinity : -Infinity), v);
      return kind === 'argmax' ? tf.argMax(v, axis) : tf.argMin(v, axis);
    });

  /**
   * x[begin:end:step] per dim by slicing and reshaping (wasm's StridedSlice handles only float32:
   * on int32 it returns reinterpreted bits and on bool it writes past its output).
   */
  const takeStrided = (x: TfTensor, begin: readonly number[], end: readonly number[], step: readonly number[], outShape: readonly number[]): TfTensor => {
    let y = tf.slice(x, [...begin], end.map((e, d) => e - begin[d]!));
    for (let d = 0; d < step.length; d++) {
      const s = step[d]!;
      const n = outShape[d]!;
      if (s === 1 || n === y.shape[d]) continue;
      // pad the dim to n * s, view it as [n, s] and keep index 0 of each group
      const pads: [number, number][] = y.shape.map((_, i) => [0, i === d ? n * s - y.shape[d]! : 0]);
      const grouped = [...y.shape];
      grouped.splice(d, 1, n, s);
      const size = grouped.map((g, i) => (i === d + 1 ? 1 : g));
      const picked = tf.slice(tf.reshape(tf.pad(y, pads), grouped), grouped.map(() => 0), size);
      const shape = [...y.shape];
      shape[d] = n;
      y = tf.reshape(picked, shape);
    }
    return y;
  };

  /** Spreads x along each dim by `step` (zeros between), then pads to place it at `begin` in `shape`. */
  const placeStrided = (x: TfTensor, shape: readonly number[], begin: readonly number[], step: readonly number[]): TfTensor => {
    let y = x;
    for (let d = 0; d < step.length; d++) {
      const s = step[d]!;
      const n = y.shape[d]!;
      if (s === 1 || n <= 1) continue;
      const pads: [number, number][] = y.shape.map(() => [0, 0]);
      pads.splice(d + 1, 0, [0, s - 1]);
      const spread = tf.pad(tf.expandDims(y, d + 1), pads);
      const merged = [...y.shape];
      merged[d] = n * s;
      const sliceSize = [...y.shape];
      sliceSize[d] = (n - 1) * s + 1;
      y = tf.slice(tf.reshape(spread, merged), merged.map(() => 0), sliceSize);
    }
    return tf.pad(y, shape.map((size, d) => [begin[d]!, size - begin[d]! - y.shape[d]!] as [number, number]));
  };

  /** tfjs-wasm's Transpose ran 1.3-2x slower than kernels.wat's strided copy. */
  const transpose = (x: TfTensor, perm: number[] = [1, 0]): TfTensor => {
    const h = heap();
    return h && wordSized(x) ? permuteOnHeap(h, x, perm) : tf.transpose(x, perm);
  };

  /**
   * Batched matmul as plain 2-D products: tfjs-backend-wasm sends only un-transposed, unbatched
   * products to XNNPACK (about 10x faster than its loop for the rest). A shared left or right
   * operand folds the batch into a GEMM dimension; two batched operands take tfjs's batched loop.
   */
  const gemm = (a: TfTensor, b: TfTensor, transA: boolean, transB: boolean): TfTensor => {
    const [ba] = a.shape as [number, number, number];
    const [bb] = b.shape as [number, number, number];
    const h = heap();
    const macs = Math.max(ba, bb) * a.shape[1]! * a.shape[2]! * (transB ? b.shape[1]! : b.shape[2]!);
    // A small product costs XNNPACK more to set up (it packs the right operand on every call) than
    // kernels.wat's GEMM takes to compute: 1.3-9x faster below this size, 0.8x at 20M multiply-adds.
    if (h && a.dtype === 'float32' && macs < SMALL_GEMM_MAX) return gemmOnHeap(h, a, b, transA, transB, transpose);
    if (ba > 1 && bb > 1 && h && a.dtype === 'float32') {
      // Two batched operands: tfjs-wasm runs them in a plain loop (about 2 GFLOP/s); XNNPACK one
      // batch at a time.
      const [m, k] = transA ? [a.shape[2]!, a.shape[1]!] : [a.shape[1]!, a.shape[2]!];
      const n = transB ? b.shape[1]! : b.shape[2]!;
      const out = h.alloc([ba, m, n], 'float32');
      const left = transA ? transpose(a, [0, 2, 1]) : a; // [B, M, K]
      const right = transB ? transpose(b, [0, 2, 1]) : b; // [B, K, N]
      for (let t = 0; t < ba; t++) {
        const at = tf.reshape(sliceOnHeap(h, left, [t, 0, 0], [1, 1, 1], [1, m, k]), [m, k]) as tfc.Tensor2D;
        const bt = tf.reshape(sliceOnHeap(h, right, [t, 0, 0], [1, 1, 1], [1, k, n]), [k, n]) as tfc.Tensor2D;
        const r = tf.matMul(at, bt);
        placeOnHeap(h, tf.reshape(r, [1, m, n]), out, [t, 0, 0], [1, 1, 1]);
        tf.dispose([at, bt, r]);
      }
      return out;
    }
    const a3 = (transA ? transpose(a, [0, 2, 1]) : a) as tfc.Tensor3D; // [Ba, M, K]
    const [, m, k] = a3.shape;
    const n = transB ? b.shape[1]! : b.shape[2]!;
    if (bb === 1) {
      const b2 = (transB ? transpose(tf.reshape(b, [n, k])) : tf.reshape(b, [k, n])) as tfc.Tensor2D;
      return tf.reshape(tf.matMul(tf.reshape(a3, [ba * m, k]) as tfc.Tensor2D, b2), [ba, m, n]);
    }
    if (ba === 1) {
      // [K, Bb*N]: every batch's right operand side by side
      const wide = transB ? transpose(tf.reshape(b, [bb * n, k])) : tf.reshape(transpose(b, [1, 0, 2]), [k, bb * n]);
      const r = tf.matMul(tf.reshape(a3, [m, k]) as tfc.Tensor2D, wide as tfc.Tensor2D);
      return transpose(tf.reshape(r, [m, bb, n]), [1, 0, 2]);
    }
    // two batched operands: tfjs's batched loop beats B separate GEMMs (slicing costs more than it saves)
    return tf.matMul(a3, b as tfc.Tensor3D, false, transB);
  };

  const unfoldGeometry = (c: number, h: number, w: number, g: Conv2dGeometry, oh: number, ow: number) => {
    const key = `i2c:${c},${h},${w}:${g.kernel}:${g.stride}:${g.padding}:${g.dilation}`;
    return cache.get(key, () => im2colIndex(c, h, w, g, oh, ow), [c * g.kernel[0] * g.kernel[1] * oh * ow]);
  };

  const flatGatherIndex = (xShape: readonly number[], index: TfTensor, axis: number): TfTensor => {
    const base = cache.get(`g:${xShape}:${index.shape}:${axis}`, () => gatherBase(xShape, index.shape, axis), [index.size]);
    return tf.add(base, tf.mul(tf.reshape(index, [-1]), tf.scalar(contiguousStrides(xShape)[axis]!, 'int32')));
  };

  // ---- fused convolution: every direction is a forward convolution (XNNPACK) in NHWC ----------

  /** NCHW -> NHWC (a reshape when there is one channel). */
  const toNhwc = (x: TfTensor): TfTensor => {
    const [n, c, h, w] = x.shape as [number, number, number, number];
    return c === 1 ? tf.reshape(x, [n, h, w, 1]) : transpose(x, [0, 2, 3, 1]);
  };
  /** NHWC -> NCHW (a reshape when there is one channel). */
  const toNchw = (x: TfTensor): TfTensor => {
    const [n, h, w, c] = x.shape as [number, number, number, number];
    return c === 1 ? tf.reshape(x, [n, 1, h, w]) : transpose(x, [0, 3, 1, 2]);
  };
  /** s - 1 zeros between neighbours along `axis`: a stride (or dilation) made explicit. */
  const spread = (t: TfTensor, axis: number, s: number): TfTensor => {
    const n = t.shape[axis]!;
    if (s === 1 || n <= 1) return t;
    const pads: [number, number][] = t.shape.map(() => [0, 0]);
    pads.splice(axis + 1, 0, [0, s - 1]);
    const merged = [...t.shape];
    merged[axis] = n * s;
    const size = [...t.shape];
    size[axis] = (n - 1) * s + 1;
    return tf.slice(tf.reshape(tf.pad(tf.expandDims(t, axis + 1), pads), merged), merged.map(() => 0), size);
  };
  /**
   * Forward convolution of x [N, H, W, Cin] with filter [kh, kw, Cin/groups, Cout] (output
   * channels grouped consecutively), explicit per-side padding (negative crops the result).
   */
  const convNhwc = (x: TfTensor, f: TfTensor, stride: [number, number], dilation: [number, number], pads: [[number, number], [number, number]], groups: number): TfTensor => {
    let filter = f;
    let dil = dilation;
    // tfjs takes strides or dilations above 1, not both: spell the dilation out as zero taps
    if ((stride[0] > 1 || stride[1] > 1) && (dil[0] > 1 || dil[1] > 1)) {
      filter = spread(spread(filter, 0, dil[0]), 1, dil[1]);
      dil = [1, 1];
    }
    const clamp = pads.map(([b, a]) => [Math.max(b, 0), Math.max(a, 0)] as [number, number]);
    const explicit: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], clamp[0]!, clamp[1]!, [0, 0]];
    const one = (xg: TfTensor, fg: TfTensor) => tf.conv2d(xg as tfc.Tensor4D, fg as tfc.Tensor4D, stride, explicit, 'NHWC', dil);
    let y: TfTensor;
    if (groups === 1) y = one(x, filter);
    else {
      const cin = x.shape[3]! / groups;
      const cout = filter.shape[3]! / groups;
      const parts: TfTensor[] = [];
      for (let g = 0; g < groups; g++) {
        const xg = tf.slice(x, [0, 0, 0, g * cin], [-1, -1, -1, cin]);
        parts.push(one(xg, tf.slice(filter, [0, 0, 0, g * cout], [-1, -1, -1, cout])));
      }
      y = tf.concat(parts, 3);
    }
    // negative padding: the clamped convolution computed extra rows/columns; crop them
    const crop = pads.map(([b, a]) => [Math.max(-b, 0), Math.max(-a, 0)] as [number, number]);
    if (crop.every(([b, a]) => b === 0 && a === 0)) return y;
    const [n, h, w, c] = y.shape as [number, number, number, number];
    return tf.slice(y, [0, crop[0]![0], crop[1]![0], 0], [n, h - crop[0]![0] - crop[0]![1], w - crop[1]![0] - crop[1]![1], c]);
  };

  /** y = x (*) w: x NCHW -> NHWC, w [O, Cg, kh, kw] -> [kh, kw, Cg, O]. */
  const conv2dKernel = kernel<'conv2d'>(([x, w], a: Conv2dAttrs) => {
    const f = transpose(w!, [2, 3, 1, 0]);
    const pads: [[number, number], [number, number]] = [[a.padding[0], a.padding[0]], [a.padding[1], a.padding[1]]];
    return toNchw(convNhwc(toNhwc(x!), f, a.stride, a.dilation, pads, a.groups));
  });

  /**
   * dL/dx as forward convolutions (XNNPACK) instead of tfjs-wasm's single-threaded
   * Conv2DBackpropInput loop. Without dilation or groups, sub-pixel form: padded input row
   * q * s + r receives gy[q - m] * w[r + m * s], so each of the s * s phases (r_h, r_w) is a
   * stride-1 correlation of the gradient with a flipped ceil(k / s)-tap slice of the filter. All phases run as one convolution (phases as output channels) and one transpose
   * interleaves them: no multiplications by inserted zeros. Otherwise the gradient is spread by the stride and
   * fully correlated with the flipped, channel-swapped filter (same dilation, per group).
   */
  /** Sub-pixel filter index tables by weight shape and stride (small host arrays). */
  const subPixelIndex = new Map<string, Int32Array>();
  const conv2dBackwardInputKernel = kernel<'conv2dBackwardInput'>(([gy, w], a) => {
    const [o, cg, kh, kw] = w!.shape as [number, number, number, number];
    const [n, , oh, ow] = gy!.shape as [number, number, number, number];
    const [h, wd] = a.inputSize;
    const [sh, sw] = a.stride;
    const [ph, pw] = a.padding;
    if (a.groups === 1 && a.dilation[0] === 1 && a.dilation[1] === 1) {
      const [mh, mw] = [Math.ceil(kh / sh), Math.ceil(kw / sw)];
      // phase rows q cover padded input rows [0, q * s); the input is rows [p, p + H) of that
      const [qh, qw] = [Math.ceil((ph + h) / sh), Math.ceil((pw + wd) / sw)];
      const key = `${o},${cg},${kh},${kw}:${a.stride}`;
      let idx = subPixelIndex.get(key);
      if (!idx) subPixelIndex.set(key, (idx = subPixelFilterIndex(o, cg, kh, kw, sh, sw, mh, mw)));
      // every phase's flipped taps (zeros where a phase has fewer): tfjs-wasm's gather and
      // high-rank transposes are per-element loops, so on its heap the filter is built on the host
      const view = heap();
      const f = view
        ? tf.tensor4d(gatherHost(view.view(w!) as Float32Array, idx), [mh, mw, o, sh * sw * cg])
        : tf.reshape(tf.gather(tf.pad(tf.reshape(w!, [-1]), [[0, 1]]), tf.tensor1d(idx, 'int32')), [mh, mw, o, sh * sw * cg]);
      // One convolution per phase with only its own taps: as one convolution (phases as output
      // channels, the shorter phases zero-padded) XNNPACK ran 2-3x slower than the four together.
      const gyNhwc = toNhwc(gy!);
      const phases: (TfTensor | null)[] = [];
      for (let rh = 0; rh < sh; rh++) {
        for (let rw = 0; rw < sw; rw++) {
          const [th, tw] = [Math.ceil((kh - rh) / sh), Math.ceil((kw - rw) / sw)];
          if (th <= 0 || tw <= 0) {
            phases.push(null);
            continue;
          }
          const fr = tf.slice(f, [mh - th, mw - tw, 0, (rh * sw + rw) * cg], [th, tw, o, cg]);
          phases.push(convNhwc(gyNhwc, fr, [1, 1], [1, 1], [[th - 1, qh - oh], [tw - 1, qw - ow]], 1)); // [N, qh, qw, C]
        }
      }
      if (view) return interleavePhasesOnHeap(view, phases, a.stride, a.padding, [n, cg, h, wd]);
      const y = tf.concat(phases.map((p) => p ?? tf.zeros([n, qh, qw, cg])), 3); // [N, qh, qw, (rh, rw, C)]
      // interleave the phases (a swap of two middle axes; tfjs-wasm's general 6-D transpose is a slow loop)
      let img = tf.reshape(tf.transpose(tf.reshape(y, [n, qh, qw, sh, sw, cg]), [0, 1, 3, 2, 4, 5]), [n, qh * sh, qw * sw, cg]);
      if (ph > 0 || pw > 0 || qh * sh !== h || qw * sw !== wd) img = tf.slice(img, [0, ph, pw, 0], [n, h, wd, cg]);
      return toNchw(img);
    }
    const g = spread(spread(toNhwc(gy!), 1, sh), 2, sw);
    const og = o / a.groups;
    // [O, Cg, kh, kw] -> [kh, kw, O/groups, groups * Cg], flipped in space
    const f = tf.reverse(tf.reshape(tf.transpose(tf.reshape(w!, [a.groups, og, cg, kh, kw]), [3, 4, 1, 0, 2]), [kh, kw, og, a.groups * cg]), [0, 1]);
    const before = [a.dilation[0] * (kh - 1) - ph, a.dilation[1] * (kw - 1) - pw];
    const after = [h - (oh - 1) * sh - 1 + ph, wd - (ow - 1) * sw - 1 + pw];
    const pads: [[number, number], [number, number]] = [[before[0]!, after[0]!], [before[1]!, after[1]!]];
    return toNchw(convNhwc(g, f, [1, 1], a.dilation, pads, a.groups));
  });

  /**
   * dL/dw as a forward convolution with batch and channel roles swapped: the padded input as
   * [C, H, W, N] (batch C, channels N) convolved with the gradient as a filter [OH, OW, N, O]
   * whose taps are `stride` apart (its dilation), stepping by the dilation; one group at a time.
   */
  const conv2dBackwardFilterKernel = kernel<'conv2dBackwardFilter'>(([x, gy], a, out) => {
    const [n, c, h, wd] = x!.shape as [number, number, number, number];
    const [, o, oh, ow] = gy!.shape as [number, number, number, number];
    const [kh, kw] = a.kernel;
    const view = heap();
    if (view && a.groups === 1) {
      // One GEMM over the N*L output positions. XNNPACK packs its right operand on every call (about
      // 5 ns an element, more than the arithmetic here), so the narrower of gy and the im2col
      // columns goes on the right: dW^T = cols [C*kh*kw, N*L] @ gy [N*L, O] (gy in NHWC), or
      // dW = gy [O, N*L] @ cols [N*L, C*kh*kw].
      const ck = c * kh * kw;
      if (ck < o) {
        const cols = im2colOnHeap(view, x!, a, oh, ow, 'pixel-major') as tfc.Tensor2D;
        const gyT = tf.reshape(transpose(tf.reshape(gy!, [n, o, oh * ow]), [1, 0, 2]), [o, n * oh * ow]) as tfc.Tensor2D;
        return tf.reshape(tf.matMul(gyT, cols), out.shape);
      }
      const cols = im2colOnHeap(view, x!, a, oh, ow, 'tap-major') as tfc.Tensor2D;
      const gyRows = tf.reshape(transpose(gy!, [0, 2, 3, 1]), [n * oh * ow, o]) as tfc.Tensor2D;
      return tf.reshape(transpose(tf.matMul(cols, gyRows)), out.shape);
    }
    const xs = transpose(x!, [1, 2, 3, 0]); // [C, H, W, N]
    const f = transpose(gy!, [2, 3, 0, 1]); // [OH, OW, N, O]
    // rows past the last one a window reaches are not needed
    const after = [
      Math.max(0, (kh - 1) * a.dilation[0] + (oh - 1) * a.stride[0] + 1 - (h + a.padding[0])),
      Math.max(0, (kw - 1) * a.dilation[1] + (ow - 1) * a.stride[1] + 1 - (wd + a.padding[1])),
    ];
    const pads: [[number, number], [number, number]] = [[a.padding[0], after[0]!], [a.padding[1], after[1]!]];
    const cg = c / a.groups;
    const og = o / a.groups;
    const parts: TfTensor[] = [];
    for (let g = 0; g < a.groups; g++) {
      const xg = a.groups === 1 ? xs : tf.slice(xs, [g * cg, 0, 0, 0], [cg, -1, -1, -1]);
      const fg = a.groups === 1 ? f : tf.slice(f, [0, 0, 0, g * og], [-1, -1, -1, og]);
      // stride and dilation trade places: the gradient's taps are `stride` apart, windows step by `dilation`
      const r = convNhwc(xg, fg, a.dilation, a.stride, pads, 1); // [Cg, >= kh, >= kw, Og]
      parts.push(transpose(tf.slice(r, [0, 0, 0, 0], [cg, kh, kw, og]), [3, 0, 1, 2]));
    }
    return parts.length === 1 ? parts[0]! : tf.concat(parts, 0);
  });

  const kernels: Partial<KernelTable<TfTensor>> = {
    ...(Object.fromEntries([...Object.keys(FLOAT_UNARY), 'sign'].map((op) => [op, unary(op as 'neg')])) as unknown as Pick<KernelTable<TfTensor>, keyof typeof FLOAT_UNARY | 'sign'>),
    ...(Object.fromEntries(
      Object.entries(binaryOps).map(([op, f]) => [
        op,
        kernel(([a, b], _attrs, out) => {
          if (a!.dtype === 'bool') refuse(`${op} on bool`);
          const h = heap();
          // maximum and minimum in kernels.wat: tfjs needs four more ops to propagate NaN, and
          // broadcasting took it 13-18 ms for [64,32,4,4] by [1,32,1,1] (kernels.wat: 0.1 ms). The
          // other ops stay on tfjs: XNNPACK is faster than kernels.wat's loop on large operands,
          // and on small broadcasts the two ran within noise in whole training steps.
          if (h && (op === 'maximum' || op === 'minimum') && a!.dtype === 'float32') return extremumOnHeap(h, op, a!, b!, out.shape);
          // a broadcasting pow: the reference loop on the heap ran 3.7x tfjs-wasm's
          if (op === 'pow' && a!.dtype === 'float32' && !sameShape(a!.shape, b!.shape)) {
            const r = onHeap([a!, b!], out, ([va, vb], o) => arrayKernels.binaryKernel('pow', va!, a!.shape, vb!, b!.shape, o, out.shape));
            if (r) return r;
          }
          return f(a!, b!);
        }),
      ]),
    ) as unknown as Pick<KernelTable<TfTensor>, keyof typeof binaryOps>),
    ...(Object.fromEntries(
      Object.entries(compareOps).map(([op, f]) => [
        op,
        kernel(([a, b], _attrs, out) => onHeap([a!, b!], out, ([va, vb], o) => arrayKernels.binaryKernel(op as 'eq', va!, a!.shape, vb!, b!.shape, o, out.shape)) ?? f(asNumber(a!), asNumber(b!))),
      ]),
    ) as unknown as Pick<KernelTable<TfTensor>, keyof typeof compareOps>),
    where: kernel<'where'>(([c, a, b], _attrs, out) => {
      const r = onHeap([c!, a!, b!], out, ([vc, va, vb], o) => arrayKernels.whereKernel(vc!, c!.shape, va!, a!.shape, vb!, b!.shape, o, out.shape));
      if (r) return r;
      // wasm's Select treats every value as 4 bytes: bool operands go through int32
      const cond = sameShape(c!.shape, out.shape) ? c! : tf.cast(broadcast(c!, out.shape), 'bool');
      return tf.where(cond, broadcast(asNumber(a!), out.shape), broadcast(asNumber(b!), out.shape));
    }),
    cast: kernel<'cast'>(([x], { dtype }, out) => {
      // to bool on the heap: the reference loop ran 2.3x tfjs-wasm's NotEqual
      const r = dtype === 'bool' ? onHeap([x!], out, ([v], o) => arrayKernels.castKernel(v!, o, false, true)) : undefined;
      if (r) return r;
      if (dtype === 'bool') return x!.dtype === 'bool' ? tf.clone(x!) : tf.notEqual(x!, tf.scalar(0, x!.dtype));
      if (dtype === 'float64') return refuse('float64 is not supported by tfjs');
      return tf.cast(x!, dtype);
    }),
    sum: reduce('sum'),
    max: reduce('max'),
    min: reduce('min'),
    argmax: argReduce('argmax'),
    argmin: argReduce('argmin'),
    reshape: kernel<'reshape'>(([x], { shape }) => tf.reshape(x!, shape)),
    permute: kernel<'permute'>(([x], { perm }) => transpose(x!, perm)),
    expand: kernel<'expand'>(([x], { shape }, out) => {
      const h = heap();
      if (h && wordSized(x!)) return expandOnHeap(h, x!, out.shape);
      return onHeap([x!], out, ([v], o) => arrayKernels.expandKernel(v!, x!.shape, out.shape, o)) ?? broadcast(x!, shape);
    }),
    slice: kernel<'slice'>(([x], { begin, end, step }, out) => {
      const h = heap();
      if (h && wordSized(x!)) return sliceOnHeap(h, x!, begin, step, out.shape);
      return onHeap([x!], out, ([v], o) => arrayKernels.sliceKernel(v!, x!.shape, begin, step, o, out.shape)) ?? takeStrided(x!, begin, end, step, out.shape);
    }),
    unslice: kernel<'unslice'>(([x], { shape, begin, step }, out) => {
      const h = heap();
      if (h && wordSized(x!)) return placedOnHeap(h, [x!], out, 0, () => begin, step);
      return onHeap([x!], out, ([v], o) => arrayKernels.sliceWriteKernel(v!, x!.shape, o.fill(0), out.shape, begin, step)) ?? placeStrided(x!, shape, begin, step);
    }),
    pad: kernel<'pad'>(([x], { before, after, value }, out) => {
      if (before.some((p) => p < 0) || after.some((p) => p < 0)) refuse('negative padding (cropping)');
      const h = heap();
      if (h && wordSized(x!)) return placedOnHeap(h, [x!], out, value, () => before, before.map(() => 1));
      const r = onHeap([x!], out, ([v], o) => arrayKernels.sliceWriteKernel(v!, x!.shape, o.fill(value), out.shape, before, before.map(() => 1)));
      return r ?? tf.pad(x!, before.map((b, i) => [b, after[i]!] as [number, number]), value);
    }),
    cat: kernel<'cat'>((xs, { axis }, out) => {
      const h = heap();
      if (h && wordSized(xs[0]!)) {
        let at = 0;
        return placedOnHeap(h, xs, out, null, (x) => {
          const begin = out.shape.map((_, d) => (d === axis ? at : 0));
          at += x.shape[axis]!;
          return begin;
        }, out.shape.map(() => 1));
      }
      const r = onHeap(xs, out, (views, o) => {
        const begin = out.shape.map(() => 0);
        const step = out.shape.map(() => 1);
        xs.forEach((x, i) => {
          arrayKernels.sliceWriteKernel(views[i]!, x.shape, o, out.shape, begin, step);
          begin[axis]! += x.shape[axis]!;
        });
      });
      return r ?? tf.concat(xs, axis);
    }),
    matmul: kernel<'matmul'>(([a, b], { transA, transB }) => gemm(a!, b!, transA, transB)),
    unfold: kernel<'unfold'>(([x], g, out) => {
      const [n, c, h, w] = x!.shape as [number, number, number, number];
      const [ph, pw] = g.padding;
      const oh = outRows(h, g);
      const view = heap();
      if (view && wordSized(x!)) return im2colOnHeap(view, x!, g, oh, out.shape[2]! / oh, 'batch-major');
      const idx = unfoldGeometry(c, h, w, g, oh, out.shape[2]! / oh);
      const padded = ph || pw ? tf.pad(x!, [[0, 0], [0, 0], [ph, ph], [pw, pw]]) : x!;
      return tf.gather(tf.reshape(padded, [n, -1]), idx, 1);
    }),
    fold: kernel<'fold'>(([cols], g, out) => {
      const [n, c, h, w] = out.shape as [number, number, number, number];
      const [ph, pw] = g.padding;
      const oh = outRows(h, g);
      const view = heap();
      if (view && cols!.dtype === 'float32') return foldOnHeap(view, cols!, g, out.shape, oh);
      const idx = unfoldGeometry(c, h, w, g, oh, cols!.shape[2]! / oh);
      const hp = h + 2 * ph;
      const wp = w + 2 * pw;
      // scatterND sums duplicate indices: overlapping windows add up, as col2im must
      const rows = tf.transpose(tf.reshape(cols!, [n, -1]));
      const img = tf.transpose(tf.scatterND(tf.reshape(idx, [-1, 1]), rows, [c * hp * wp, n]));
      const full = tf.reshape(img, [n, c, hp, wp]);
      return ph || pw ? tf.slice(full, [0, 0, ph, pw], [n, c, h, w]) : full;
    }),
    // gather, scatterAdd, indexSelect, indexAdd: on the heap the reference loops, 4-18x tfjs-wasm's
    // GatherV2 (and the index arithmetic around it)
    gather: kernel<'gather'>(
      ([x, index], { axis }, out) =>
        onHeap([x!, index!], out, ([v, i], o) => arrayKernels.gatherScatterKernel('gather', v!, x!.shape, i as Int32Array, index!.shape, axis, o)) ??
        tf.gather(tf.reshape(asNumber(x!), [-1]), flatGatherIndex(x!.shape, index!, axis)),
    ),
    scatterAdd: kernel<'scatterAdd'>(([x, index, src], { axis }, out) => {
      if (x!.dtype === 'bool') refuse('scatterAdd on bool');
      const r = onHeap([x!, index!, src!], out, ([v, i, s], o) => {
        o.set(v!);
        arrayKernels.gatherScatterKernel('scatter', v!, x!.shape, i as Int32Array, index!.shape, axis, o, s);
      });
      if (r) return r;
      const flat = flatGatherIndex(x!.shape, index!, axis);
      return tf.add(x!, tf.reshape(tf.scatterND(tf.reshape(flat, [-1, 1]), tf.reshape(src!, [-1]), [x!.size]), x!.shape));
    }),
    indexSelect: kernel<'indexSelect'>(
      ([x, index], { axis }, out) =>
        onHeap([x!, index!], out, ([v, i], o) => arrayKernels.indexSlabKernel('select', v!, x!.shape, i as Int32Array, axis, o)) ?? tf.gather(asNumber(x!), index!, axis),
    ),
    indexAdd: kernel<'indexAdd'>(([x, index, src], { axis }, out) => {
      if (x!.dtype === 'bool') refuse('indexAdd on bool');
      const r = onHeap([x!, index!, src!], out, ([v, i, s], o) => {
        o.set(v!);
        arrayKernels.indexSlabKernel('add', v!, x!.shape, i as Int32Array, axis, o, s);
      });
      if (r) return r;
      const perm = x!.shape.map((_, i) => i);
      perm.splice(axis, 1);
      perm.unshift(axis);
      const inverse = perm.map((_, i) => perm.indexOf(i));
      const srcT = tf.transpose(src!, perm);
      const shapeT = perm.map((p) => x!.shape[p]!);
      const added = tf.scatterND(tf.reshape(index!, [-1, 1]), srcT, shapeT);
      return tf.add(x!, tf.transpose(added, inverse));
    }),
    conv2d: conv2dKernel,
    conv2dBackwardInput: conv2dBackwardInputKernel,
    conv2dBackwardFilter: conv2dBackwardFilterKernel,
    reluBackward: kernel<'reluBackward'>(([g, x], _attrs, out) => {
      const h = heap();
      if (h && out.dtype === 'float32') {
        const r = h.alloc([...out.shape], 'float32');
        h.wat.relu_backward(h.offset(g!), h.offset(x!), h.offset(r), r.size);
        return r;
      }
      return tf.where(tf.greater(x!, 0), g!, tf.zerosLike(g!));
    }),
  };
  return { kernels, clearCache: () => cache.clear() };
}

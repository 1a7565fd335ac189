import type { TypedArray } from '../../dtype.js';
import type { Shape } from '../../shape.js';
import { contiguousStrides } from '../../shape.js';
import { transpose2d } from './matmul.js';
import { collapseDims } from './strides.js';

/** Rows shorter than this copy in a loop; longer ones through set(), whose subarray costs an allocation. */
const SET_MIN = 64;

/**
 * out[i] = src[offset + sum(idx_d * strides_d)] for a contiguous `out` of `shape` (gather mode), or
 * dst[offset + ...] = src[i] for a contiguous `src` (scatter mode). Permute, expand, slice, pad and
 * cat are all this one loop with different strides.
 */
function stridedCopy(mode: 'gather' | 'scatter', src: TypedArray, dst: TypedArray, shape: Shape, strides: number[], offset: number): void {
  const { shape: cs, strides: ss } = collapseDims(shape, [strides]);
  const st = ss[0]!;
  const nd = cs.length;
  const inner = cs[nd - 1]!;
  const is = st[nd - 1]!;
  const total = cs.reduce((a, b) => a * b, 1);
  if (total === 0) return;
  const idx = new Int32Array(nd);
  let base = offset;
  for (let i = 0; i < total; ) {
    let p = base;
    if (mode === 'gather') {
      if (is === 1 && inner >= SET_MIN) {
        dst.set(src.subarray(p, p + inner), i);
        i += inner;
      } else for (let k = 0; k < inner; k++, i++, p += is) dst[i] = src[p]!;
    } else if (is === 1 && inner >= SET_MIN) {
      dst.set(src.subarray(i, i + inner), p);
      i += inner;
    } else for (let k = 0; k < inner; k++, i++, p += is) dst[p] = src[i]!;
    for (let d = nd - 2; d >= 0; d--) {
      idx[d]!++;
      base += st[d]!;
      if (idx[d]! < cs[d]!) break;
      base -= st[d]! * cs[d]!;
      idx[d] = 0;
    }
  }
}

export function permuteKernel(x: TypedArray, shape: Shape, perm: readonly number[], out: TypedArray): void {
  const s = contiguousStrides(shape);
  const outShape = perm.map((p) => shape[p]!);
  const strides = perm.map((p) => s[p]!);
  // A (batched) swap of the last two dims reads one side with a long stride: a blocked transpose
  // keeps both sides in cache.
  const { shape: cs, strides: [st] } = collapseDims(outShape, [strides]);
  const nd = cs.length;
  if (nd >= 2 && nd <= 3 && st![nd - 2] === 1 && st![nd - 1] === cs[nd - 2]) {
    const cols = cs[nd - 2]!, rows = cs[nd - 1]!;
    const batch = nd === 3 ? cs[0]! : 1;
    if (nd === 2 || st![0] === rows * cols) {
      for (let b = 0; b < batch; b++) transpose2d(x, b * rows * cols, rows, cols, out, b * rows * cols);
      return;
    }
  }
  stridedCopy('gather', x, out, outShape, strides, 0);
}

export function expandKernel(x: TypedArray, shape: Shape, outShape: Shape, out: TypedArray): void {
  const s = contiguousStrides(shape);
  const off = outShape.length - shape.length;
  stridedCopy('gather', x, out, outShape, outShape.map((_, i) => (i < off || shape[i - off] === 1 ? 0 : s[i - off]!)), 0);
}

function sliceGeometry(shape: Shape, begin: readonly number[], step: readonly number[]): { strides: number[]; offset: number } {
  const s = contiguousStrides(shape);
  return { strides: s.map((v, i) => v * step[i]!), offset: s.reduce((acc, v, i) => acc + v * begin[i]!, 0) };
}

export function sliceKernel(x: TypedArray, shape: Shape, begin: readonly number[], step: readonly number[], out: TypedArray, outShape: Shape): void {
  const g = sliceGeometry(shape, begin, step);
  stridedCopy('gather', x, out, outShape, g.strides, g.offset);
}

/** Writes contiguous `src` of `srcShape` into `dst` (of `dstShape`) at begin/step positions. */
export function sliceWriteKernel(src: TypedArray, srcShape: Shape, dst: TypedArray, dstShape: Shape, begin: readonly number[], step: readonly number[]): void {
  const g = sliceGeometry(dstShape, begin, step);
  stridedCopy('scatter', src, dst, srcShape, g.strides, g.offset);
}

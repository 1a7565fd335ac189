import { allocArray, type TypedArray } from '../../dtype.js';
import type { Shape } from '../../shape.js';
import { contiguousStrides } from '../../shape.js';
import { collapseDims } from './strides.js';

/**
 * Walks the input in memory order with an output pointer whose strides are 0 on reduced axes.
 * Sums accumulate in float64 so long float32 reductions keep their digits.
 */
function reduceWalk(x: TypedArray, shape: Shape, axes: readonly number[], acc: Float64Array, combine: 0 | 1 | 2): void {
  const outStrides = contiguousStrides(shape.map((d, i) => (axes.includes(i) ? 1 : d))).map((s, i) => (axes.includes(i) ? 0 : s));
  const { shape: cs, strides } = collapseDims(shape, [contiguousStrides(shape), outStrides]);
  const os = strides[1]!;
  const nd = cs.length;
  const inner = cs[nd - 1]!;
  const innerStride = os[nd - 1]!;
  const idx = new Int32Array(nd);
  let base = 0;
  for (let i = 0; i < x.length; ) {
    let p = base;
    if (combine === 0) {
      if (innerStride === 0) {
        let s = acc[p]!;
        for (let k = 0; k < inner; k++, i++) s += x[i]!;
        acc[p] = s;
      } else for (let k = 0; k < inner; k++, i++, p += innerStride) acc[p]! += x[i]!;
    } else if (combine === 1) {
      for (let k = 0; k < inner; k++, i++, p += innerStride) {
        const v = x[i]!;
        if (v > acc[p]! || v !== v) acc[p] = v;
      }
    } else {
      for (let k = 0; k < inner; k++, i++, p += innerStride) {
        const v = x[i]!;
        if (v < acc[p]! || v !== v) acc[p] = v;
      }
    }
    for (let d = nd - 2; d >= 0; d--) {
      idx[d]!++;
      base += os[d]!;
      if (idx[d]! < cs[d]!) break;
      base -= os[d]! * cs[d]!;
      idx[d] = 0;
    }
  }
}

export function reduceKernel(kind: 'sum' | 'max' | 'min', x: TypedArray, shape: Shape, axes: readonly number[], out: TypedArray): void {
  const acc = new Float64Array(out.length);
  if (kind !== 'sum') acc.fill(kind === 'max' ? -Infinity : Infinity);
  if (x.length > 0) reduceWalk(x, shape, axes, acc, kind === 'sum' ? 0 : kind === 'max' ? 1 : 2);
  out.set(acc);
}

/** First index of the max (or min) along `axis`, as PyTorch; NaN counts as the maximum. */
export function argReduceKernel(kind: 'argmax' | 'argmin', x: TypedArray, shape: Shape, axis: number, out: Int32Array): void {
  const n = shape[axis]!;
  const innerSize = contiguousStrides(shape)[axis]!;
  const outer = out.length / innerSize;
  const better = kind === 'argmax' ? (v: number, b: number) => v > b || (v !== v && b === b) : (v: number, b: number) => v < b || (v !== v && b === b);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < innerSize; j++) {
      const base = o * n * innerSize + j;
      let best = x[base]!;
      let bi = 0;
      for (let k = 1; k < n; k++) {
        const v = x[base + k * innerSize]!;
        if (better(v, best)) {
          best = v;
          bi = k;
        }
      }
      out[o * innerSize + j] = bi;
    }
  }
}

export function reduceOutput(dtype: 'float32' | 'float64' | 'int32' | 'bool', size: number): TypedArray {
  return allocArray(dtype, size);
}

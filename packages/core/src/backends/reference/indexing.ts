import type { TypedArray } from '../../dtype.js';
import { OpError } from '../../shape.js';
import { contiguousStrides } from '../../shape.js';

function checkRange(op: string, i: number, size: number): void {
  if (i < 0 || i >= size) throw new OpError(op, `index ${i} is out of bounds for dimension of size ${size}`);
}

/**
 * torch.gather / scatter_add along `axis`: for every position p of `index`,
 * gather: out[p] = x[p with p[axis] := index[p]]; scatter: out[p with p[axis] := index[p]] += src[p].
 */
export function gatherScatterKernel(mode: 'gather' | 'scatter', x: TypedArray, xShape: readonly number[], index: Int32Array, iShape: readonly number[], axis: number, out: TypedArray, src?: TypedArray): void {
  const op = mode === 'gather' ? 'gather' : 'scatterAdd';
  const xs = contiguousStrides(xShape);
  const nd = iShape.length;
  const idx = new Int32Array(nd);
  const dimSize = xShape[axis]!;
  for (let p = 0; p < index.length; p++) {
    let off = 0;
    for (let d = 0; d < nd; d++) if (d !== axis) off += idx[d]! * xs[d]!;
    const j = index[p]!;
    checkRange(op, j, dimSize);
    off += j * xs[axis]!;
    if (mode === 'gather') out[p] = x[off]!;
    else out[off]! += src![p]!;
    for (let d = nd - 1; d >= 0; d--) {
      if (++idx[d]! < iShape[d]!) break;
      idx[d] = 0;
    }
  }
}

/** index_select / index_add along `axis` with a 1-D index: whole slabs move at once. */
export function indexSlabKernel(mode: 'select' | 'add', x: TypedArray, xShape: readonly number[], index: Int32Array, axis: number, out: TypedArray, src?: TypedArray): void {
  const op = mode === 'select' ? 'indexSelect' : 'indexAdd';
  const inner = contiguousStrides(xShape)[axis]!;
  const dimSize = xShape[axis]!;
  const outer = xShape.slice(0, axis).reduce((a, b) => a * b, 1);
  const k = index.length;
  for (const j of index) checkRange(op, j, dimSize);
  for (let o = 0; o < outer; o++) {
    for (let t = 0; t < k; t++) {
      const xOff = (o * dimSize + index[t]!) * inner;
      const sOff = (o * k + t) * inner;
      if (mode === 'select') out.set(x.subarray(xOff, xOff + inner), sOff);
      else for (let q = 0; q < inner; q++) out[xOff + q]! += src![sOff + q]!;
    }
  }
}

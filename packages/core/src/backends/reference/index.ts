/**
 * The reference backend: every primitive on plain typed arrays. It is the definition other backends
 * are tested against, and the fallback for kernels they lack.
 */
import type { Backend, Kernel, KernelTable, KernelTensor } from '../../backend.js';
import { type DType, isFloat, type TypedArray } from '../../dtype.js';
import { BINARY_OPS, COMPARE_OPS, convOutputSize, type PrimName, UNARY_OPS } from '../../prims.js';
import { shapeSize } from '../../shape.js';
import { foldKernel, unfoldKernel } from './conv.js';
import { binaryKernel, castKernel, reluBackwardKernel, unaryKernel, whereKernel } from './elementwise.js';
import { gatherScatterKernel, indexSlabKernel } from './indexing.js';
import { matmulKernel } from './matmul.js';
import { expandKernel, permuteKernel, sliceKernel, sliceWriteKernel } from './movement.js';
import { give, take } from './pool.js';
import { argReduceKernel, reduceKernel } from './reduce.js';

type T = KernelTensor<TypedArray>;
/**
 * Every kernel returns a buffer of its own (never an input's): released buffers are recycled, so
 * two tensors must never share one array. `alloc` is zero-filled; `fresh` is for kernels that
 * write every element.
 */
const alloc = (out: { shape: readonly number[]; dtype: DType }) => take(out.dtype, shapeSize(out.shape), true);
const fresh = (out: { shape: readonly number[]; dtype: DType }) => take(out.dtype, shapeSize(out.shape), false);

function each<K extends PrimName>(names: readonly K[], make: (name: K) => Kernel<K, TypedArray>): { [P in K]: Kernel<P, TypedArray> } {
  return Object.fromEntries(names.map((n) => [n, make(n)])) as unknown as { [P in K]: Kernel<P, TypedArray> };
}

export const referenceKernels: KernelTable<TypedArray> = {
  ...each(UNARY_OPS, (op) => ([x], _a, out) => {
    const o = fresh(out);
    unaryKernel(op, x!.data, o);
    return o;
  }),
  ...each([...BINARY_OPS, ...COMPARE_OPS], (op) => ([a, b], _attrs, out) => {
    const o = fresh(out);
    binaryKernel(op, a!.data, a!.shape, b!.data, b!.shape, o, out.shape);
    return o;
  }),
  where: ([c, a, b], _attrs, out) => {
    const o = fresh(out);
    whereKernel(c!.data, c!.shape, a!.data, a!.shape, b!.data, b!.shape, o, out.shape);
    return o;
  },
  // optional fused primitive: one pass instead of `gt` + `where`
  reluBackward: ([g, x], _attrs, out) => {
    const o = fresh(out);
    reluBackwardKernel(g!.data, x!.data, o);
    return o;
  },
  cast: ([x], { dtype }, out) => {
    const o = fresh(out);
    castKernel(x!.data, o, dtype === 'int32' && isFloat(x!.dtype), dtype === 'bool');
    return o;
  },
  ...each(['sum', 'max', 'min'] as const, (kind) => ([x], { axes }, out) => {
    const o = fresh(out);
    reduceKernel(kind, x!.data, x!.shape, axes, o);
    return o;
  }),
  ...each(['argmax', 'argmin'] as const, (kind) => ([x], { axis }, out) => {
    const o = fresh(out) as Int32Array;
    argReduceKernel(kind, x!.data, x!.shape, axis, o);
    return o;
  }),
  // Contiguous storage makes reshape a relabelling; the engine shares the buffer instead of calling this.
  reshape: ([x]) => x!.data.slice(),
  permute: ([x], { perm }, out) => {
    const o = fresh(out);
    permuteKernel(x!.data, x!.shape, perm, o);
    return o;
  },
  expand: ([x], _attrs, out) => {
    const o = fresh(out);
    expandKernel(x!.data, x!.shape, out.shape, o);
    return o;
  },
  slice: ([x], { begin, step }, out) => {
    const o = fresh(out);
    sliceKernel(x!.data, x!.shape, begin, step, o, out.shape);
    return o;
  },
  unslice: ([x], { begin, step }, out) => {
    const o = alloc(out);
    sliceWriteKernel(x!.data, x!.shape, o, out.shape, begin, step);
    return o;
  },
  pad: ([x], { before, value }, out) => {
    const o = alloc(out);
    if (value !== 0) o.fill(value);
    sliceWriteKernel(x!.data, x!.shape, o, out.shape, before, before.map(() => 1));
    return o;
  },
  cat: (xs, { axis }, out) => {
    const o = fresh(out);
    const begin = out.shape.map(() => 0);
    const step = out.shape.map(() => 1);
    for (const x of xs) {
      sliceWriteKernel(x.data, x.shape, o, out.shape, begin, step);
      begin[axis]! += x.shape[axis]!;
    }
    return o;
  },
  matmul: ([a, b], { transA, transB }, out) => {
    const o = fresh(out);
    matmulKernel(a!.data, a!.shape, b!.data, b!.shape, transA, transB, o);
    return o;
  },
  unfold: ([x], g, out) => {
    const o = fresh(out);
    unfoldKernel(x!.data, x!.shape, g, o, convOutputSize('unfold', x!.shape[2]!, x!.shape[3]!, g));
    return o;
  },
  fold: ([x], g, out) => {
    const o = alloc(out);
    foldKernel(x!.data, g, o, out.shape, convOutputSize('fold', g.outputSize[0], g.outputSize[1], g));
    return o;
  },
  gather: ([x, index], { axis }, out) => {
    const o = fresh(out);
    gatherScatterKernel('gather', x!.data, x!.shape, index!.data as Int32Array, index!.shape, axis, o);
    return o;
  },
  scatterAdd: ([x, index, src], { axis }) => {
    const o = x!.data.slice();
    gatherScatterKernel('scatter', x!.data, x!.shape, index!.data as Int32Array, index!.shape, axis, o, src!.data);
    return o;
  },
  indexSelect: ([x, index], { axis }, out) => {
    const o = fresh(out);
    indexSlabKernel('select', x!.data, x!.shape, index!.data as Int32Array, axis, o);
    return o;
  },
  indexAdd: ([x, index, src], { axis }) => {
    const o = x!.data.slice();
    indexSlabKernel('add', x!.data, x!.shape, index!.data as Int32Array, axis, o, src!.data);
    return o;
  },
};

export class ReferenceBackend implements Backend<TypedArray> {
  readonly name = 'reference';
  readonly kernels = referenceKernels;
  upload(data: TypedArray): TypedArray {
    return data;
  }
  read(handle: TypedArray): Promise<TypedArray> {
    return Promise.resolve(handle.slice());
  }
  readSync(handle: TypedArray): TypedArray {
    return handle.slice();
  }
  release(handle: TypedArray): void {
    // back to the pool when the buffer is one of ours; otherwise the GC takes it
    give(handle);
  }
}

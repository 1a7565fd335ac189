import type { DType, TypedArray } from './dtype.js';
import type { OutMeta, PrimAttrs, PrimName } from './prims.js';
import type { Shape } from './shape.js';

/** A tensor as a kernel sees it: an opaque backend handle plus its (contiguous) shape and dtype. */
export interface KernelTensor<H = unknown> {
  readonly data: H;
  readonly shape: Shape;
  readonly dtype: DType;
}

export type Kernel<K extends PrimName, H = unknown> = (inputs: readonly KernelTensor<H>[], attrs: PrimAttrs[K], out: OutMeta) => H;
export type KernelTable<H = unknown> = { [K in PrimName]: Kernel<K, H> };

/**
 * A compute backend: storage for flat buffers plus kernels for the primitives. A backend may leave
 * primitives out; those run on the reference backend with the data moved across (recorded in
 * `missingKernels`).
 */
export interface Backend<H = unknown> {
  readonly name: string;
  readonly kernels: Partial<KernelTable<H>>;
  /** Takes a typed array (ownership passes to the backend) and returns a handle. */
  upload(data: TypedArray, dtype: DType): H;
  read(handle: H, dtype: DType, size: number): Promise<TypedArray>;
  readSync?(handle: H, dtype: DType, size: number): TypedArray;
  release(handle: H): void;
}

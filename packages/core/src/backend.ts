import type { DType, TypedArray } from './dtype.js';
import type { CorePrimName, FusedPrimName, OutMeta, PrimAttrs, PrimName } from './prims.js';
import type { Shape } from './shape.js';

/** A tensor as a kernel sees it: an opaque backend handle plus its (contiguous) shape and dtype. */
export interface KernelTensor<H = unknown> {
  readonly data: H;
  readonly shape: Shape;
  readonly dtype: DType;
}

export type Kernel<K extends PrimName, H = unknown> = (inputs: readonly KernelTensor<H>[], attrs: PrimAttrs[K], out: OutMeta) => H;
/** Kernels for every core primitive; the fused composites (`FUSED_PRIMS`) are optional. */
export type KernelTable<H = unknown> = { [K in CorePrimName]: Kernel<K, H> } & { [K in FusedPrimName]?: Kernel<K, H> };

/**
 * Whether `backend` has its own kernel for `name`. Ops ask this before calling a fused composite
 * (which has no reference fallback) and run the decomposition otherwise.
 */
export function hasKernel(backend: Backend, name: PrimName): boolean {
  return backend.kernels[name] !== undefined;
}

/**
 * A compute backend: storage for flat buffers plus kernels for the primitives. A backend may leave
 * primitives out; those run on the reference backend with the data moved across, and each such
 * fallback is recorded with its reason (see `backendInfo().fallbacks`).
 */
export interface Backend<H = unknown> {
  readonly name: string;
  readonly kernels: Partial<KernelTable<H>>;
  /** The dtypes this backend can store; all four when omitted. Others are refused with an OpError. */
  readonly dtypes?: readonly DType[];
  /** Why a primitive has no kernel here (shown in `backendInfo().fallbacks` and docs/FEATURES.md). */
  readonly missingReasons?: Partial<Record<PrimName, string>>;
  /** For kernels that decline some calls (`KernelFallback`): which calls and why (for docs/FEATURES.md). */
  readonly partialReasons?: Partial<Record<PrimName, string>>;
  /** Takes a typed array (ownership passes to the backend) and returns a handle. */
  upload(data: TypedArray, dtype: DType): H;
  read(handle: H, dtype: DType, size: number): Promise<TypedArray>;
  readSync?(handle: H, dtype: DType, size: number): TypedArray;
  release(handle: H): void;
}

/**
 * Thrown by a kernel that cannot handle this particular call (a dtype or attribute it does not
 * cover): the engine runs the reference kernel instead and records `reason`.
 */
export class KernelFallback extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'KernelFallback';
  }
}

/**
 * Thrown by a backend factory whose optional dependency is absent: the registry reports the
 * backend as 'not installed' (rather than 'failed') with this message, which should say what to install.
 */
export class BackendNotInstalled extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendNotInstalled';
  }
}

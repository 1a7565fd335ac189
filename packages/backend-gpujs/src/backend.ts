/**
 * A methodzoo backend over one gpu.js engine (see `engine.ts` for the sync and async contracts).
 * gpu.js computes in f32, so float64 is refused (cast to float32, or keep float64 work on the
 * reference backend); int32 and bool are stored exactly on the host.
 */
import type { Backend, DType, KernelTable, TypedArray } from '@methodzoo/core';
import { Engine, type EngineMode, type GpuJsInstance, GpujsHandle } from './engine.js';
import { makeKernels } from './kernels.js';

export const GPUJS_DTYPES: readonly DType[] = ['float32', 'int32', 'bool'];

export class GpujsBackend implements Backend<GpujsHandle> {
  readonly kernels: KernelTable<GpujsHandle>;
  readonly dtypes = GPUJS_DTYPES;
  readonly engine: Engine;
  /** Only the sync engine can read at once; the async one answers once the value has settled. */
  readonly readSync: ((handle: GpujsHandle) => TypedArray) | undefined;

  /**
   * @param name the methodzoo backend name ('gpujs-webgpu', 'gpujs-webasm', ...)
   * @param mode the gpu.js contract: sync webasm, webasm under the async contract (worker pool), or webgpu
   * @param gpu a gpu.js `GPU` instance created in the matching gpu.js mode
   */
  constructor(
    readonly name: string,
    mode: EngineMode,
    gpu: GpuJsInstance,
  ) {
    this.engine = new Engine(mode, gpu);
    this.kernels = makeKernels(this.engine);
    this.readSync = (h) => this.engine.readSync(h);
  }

  upload(data: TypedArray, dtype: DType): GpujsHandle {
    if (dtype === 'float64') throw new Error(`${this.name}: float64 is not supported by gpu.js (it computes in f32); cast to float32`);
    return this.engine.wrap(data, dtype);
  }
  read(handle: GpujsHandle): Promise<TypedArray> {
    return this.engine.read(handle);
  }
  release(handle: GpujsHandle): void {
    this.engine.release(handle);
  }
  /** Resolves when every kernel launched so far has run (a no-op on the sync engine). */
  flush(): Promise<void> {
    return this.engine.flush();
  }
  /** Live handles and their bytes (what `release` frees). */
  memory(): { buffers: number; bytes: number } {
    return { buffers: this.engine.live, bytes: this.engine.liveBytes };
  }
  /** The gpu.js mode each compiled kernel ran in ('webasm', 'webgpu', or 'cpu' where gpu.js degraded one). */
  kernelModes(): Record<string, string> {
    return Object.fromEntries(this.engine.modes);
  }
}

export { GpujsHandle };

/**
 * Runs gpu.js kernels for the backend and owns their data. Two contracts, as in gpu.js itself:
 *
 * - **sync** (gpu.js `mode: 'webasm'`): a call returns its Float32Array at once, so handles hold
 *   host arrays and values can be read synchronously (`dataSync()`, `item()`, reference fallbacks).
 * - **async** (gpu.js `mode: 'webgpu'`, or webasm with `asyncMode: true`, which splits large kernels
 *   across a worker pool): every call returns a Promise. The core's kernels are synchronous, so a
 *   handle is returned at once and settles later; launches are queued in order on one chain, so a
 *   kernel always sees its inputs settled, and a release waits for every launch queued before it.
 *   On WebGPU float32 results stay in GPU buffers (`pipeline: true`) and only `read` copies back.
 *
 * Data lives as f32 inside kernels. int32 and bool tensors keep their own typed arrays on the host
 * and are converted when passed to a kernel (index arguments; values are exact below 2^24).
 */
import { createRequire } from 'node:module';
import type { DType, TypedArray } from '@methodzoo/core';

/** The slice of gpu.js's API this package uses (gpu.js ships no types for its 2.24 modes). */
export interface GpuJsKernel {
  (...args: unknown[]): unknown;
  setOutput(output: number[]): GpuJsKernel;
  destroy(): void;
  kernel?: { constructor: { mode?: string }; fallbackReason?: string | null };
}
export interface GpuJsInstance {
  createKernel(source: string, settings: Record<string, unknown>): GpuJsKernel;
  destroy(): void;
}
export interface GpuJsModule {
  GPU: {
    new (settings: { mode: string }): GpuJsInstance;
    readonly isWebAssemblySupported: boolean;
    readonly isWebGPUSupported: boolean;
    isWebGPUAvailable(): Promise<boolean>;
  };
}
interface DeviceResult {
  toArray(): Promise<Float32Array>;
  delete(): void;
}

/** gpu.js is CommonJS; loading it through createRequire keeps this package's ESM output plain. */
export function loadGpuJs(): GpuJsModule {
  return createRequire(import.meta.url)('gpu.js') as GpuJsModule;
}

export type EngineMode = 'webasm' | 'webasm-async' | 'webgpu';

/** A tensor's storage on this backend. */
export class GpujsHandle {
  /** Host values in the tensor's own dtype, once known (always, on the sync engine). */
  host: TypedArray | null;
  /** The float32 result still on the device (WebGPU). */
  device: DeviceResult | null = null;
  /** Settles when the kernel that makes this handle has run (async engine). */
  ready: Promise<void> | null = null;
  error: unknown = null;
  released = false;
  private f32: Float32Array | null = null;
  constructor(
    readonly dtype: DType,
    readonly size: number,
    host: TypedArray | null,
  ) {
    this.host = host;
  }
  /** The values as f32 for a kernel argument (int32/bool converted once, cached). */
  asF32(): Float32Array {
    if (this.host instanceof Float32Array) return this.host;
    if (!this.host) throw new Error('gpu.js handle has no host values');
    return (this.f32 ??= Float32Array.from(this.host));
  }
}

/** A kernel argument: a tensor handle, an integer scalar, or a short list of integers (shape, strides). */
export type Arg = GpujsHandle | number | readonly number[];

const hostArray = (dtype: DType, values: Float32Array): TypedArray =>
  dtype === 'float32' ? values : dtype === 'int32' ? Int32Array.from(values) : dtype === 'bool' ? Uint8Array.from(values) : Float64Array.from(values);

export class Engine {
  readonly kernels = new Map<string, GpuJsKernel>();
  /** The gpu.js mode each kernel actually ran in (gpu.js may degrade a kernel to 'cpu'). */
  readonly modes = new Map<string, string>();
  private tail: Promise<void> = Promise.resolve();
  /** Handles not yet released, and their bytes, for memory tests. */
  live = 0;
  liveBytes = 0;

  constructor(
    readonly mode: EngineMode,
    readonly gpu: GpuJsInstance,
  ) {}

  get async(): boolean {
    return this.mode !== 'webasm';
  }

  private kernel(key: string, source: string): GpuJsKernel {
    let k = this.kernels.get(key);
    if (!k) {
      k = this.gpu.createKernel(source, {
        output: [1],
        dynamicOutput: true,
        dynamicArguments: true,
        // loops are bounded by their arguments (reduction length, K of a matmul), not by this cap
        loopMaxIterations: 2 ** 30,
        tactic: 'precision',
        ...(this.async ? { asyncMode: true } : {}),
        // device results stay on the GPU, one buffer per result (immutable), until released
        ...(this.mode === 'webgpu' ? { pipeline: true, immutable: true } : {}),
      });
      this.kernels.set(key, k);
    }
    return k;
  }

  wrap(data: TypedArray, dtype: DType): GpujsHandle {
    this.live++;
    this.liveBytes += data.byteLength;
    return new GpujsHandle(dtype, data.length, data);
  }

  private args(args: readonly Arg[]): unknown[] {
    return args.map((a) => {
      if (a instanceof GpujsHandle) {
        if (a.device) return a.device;
        // nor an empty one: an empty tensor (read by no cell) is passed as one unused zero
        return a.size === 0 ? new Float32Array(1) : a.asF32();
      }
      if (typeof a === 'number') return a;
      // gpu.js cannot take an empty array: rank-0 shapes get one unused entry
      return Float32Array.from(a.length ? a : [1]);
    });
  }

  private note(key: string, k: GpuJsKernel): void {
    if (!this.modes.has(key)) this.modes.set(key, k.kernel?.constructor.mode ?? this.mode);
  }

  /** Launches kernel `key` (compiled from `source` on first use) over `size` output cells. */
  launch(key: string, source: string, size: number, dtype: DType, args: readonly Arg[]): GpujsHandle {
    const out = new GpujsHandle(dtype, size, null);
    const count = () => {
      this.live++;
      this.liveBytes += size * (dtype === 'bool' ? 1 : dtype === 'float64' ? 8 : 4);
      return out;
    };
    if (size === 0) {
      out.host = hostArray(dtype, new Float32Array(0));
      return count();
    }
    if (!this.async) {
      const k = this.kernel(key, source).setOutput([size]);
      const values = k(...this.args(args)) as Float32Array;
      this.note(key, k);
      out.host = hostArray(dtype, values);
      // counted once it exists: a kernel that throws leaves nothing to release
      return count();
    }
    count();
    const inputs = args.filter((a): a is GpujsHandle => a instanceof GpujsHandle);
    const run = async () => {
      const failed = inputs.find((h) => h.error);
      if (failed) throw failed.error;
      const k = this.kernel(key, source).setOutput([size]);
      const result = await (k(...this.args(args)) as Promise<Float32Array | DeviceResult>);
      this.note(key, k);
      if (result instanceof Float32Array) out.host = hostArray(dtype, result);
      else if (dtype === 'float32') out.device = result;
      else {
        out.host = hostArray(dtype, await result.toArray());
        result.delete();
      }
    };
    out.ready = this.tail.then(run).catch((e: unknown) => {
      out.error = e;
    });
    this.tail = out.ready;
    return out;
  }

  async read(h: GpujsHandle): Promise<TypedArray> {
    if (h.ready) await h.ready;
    if (h.error) throw h.error;
    if (h.host) return h.host.slice();
    return hostArray(h.dtype, await h.device!.toArray());
  }

  readSync(h: GpujsHandle): TypedArray {
    // host values are only ever set once their kernel has run
    if (h.host) return h.host.slice();
    throw new Error(`gpu.js ${this.mode} results are read asynchronously: use await t.data()`);
  }

  release(h: GpujsHandle): void {
    if (h.released) return;
    h.released = true;
    this.live--;
    this.liveBytes -= h.size * (h.dtype === 'bool' ? 1 : h.dtype === 'float64' ? 8 : 4);
    if (!this.async) {
      h.host = null;
      return;
    }
    // every launch queued so far may still read this handle: free it after them
    this.tail = this.tail.then(() => {
      h.device?.delete();
      h.device = null;
      h.host = null;
    });
  }

  /** Waits for every queued launch (async engine). */
  flush(): Promise<void> {
    return this.tail;
  }

  destroy(): void {
    for (const k of this.kernels.values()) k.destroy();
    this.kernels.clear();
    this.gpu.destroy();
  }
}

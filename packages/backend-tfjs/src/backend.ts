/**
 * A methodzoo backend over one TensorFlow.js engine: handles are tfjs tensors, `release` disposes
 * them, so the core's memory model (scopes, dispose, the FinalizationRegistry safety net) carries
 * over and `tf.memory().numTensors` follows `memory()`. tfjs has no float64: such tensors are
 * refused with an error that says to cast (or to keep them on the reference backend).
 */
import type { Backend, DType, KernelTable, PrimName, TypedArray } from '@methodzoo/core';
import { makeKernels, type Tf, type TfTensor } from './kernels.js';

export const TFJS_DTYPES: readonly DType[] = ['float32', 'int32', 'bool'];

export class TfjsBackend implements Backend<TfTensor> {
  readonly kernels: Partial<KernelTable<TfTensor>>;
  readonly dtypes = TFJS_DTYPES;
  readonly missingReasons: Partial<Record<PrimName, string>> = {};
  /** The calls each kernel hands to the reference backend (each also recorded when it happens). */
  readonly partialReasons: Partial<Record<PrimName, string>> = {
    ...Object.fromEntries(['exp', 'log', 'log1p', 'sqrt', 'rsqrt', 'sin', 'cos', 'tanh', 'sigmoid', 'erf'].map((op) => [op, 'int32 and bool inputs (the reference computes in doubles and truncates)'])),
    neg: 'bool inputs',
    abs: 'bool inputs',
    sign: 'bool inputs',
    relu: 'bool inputs',
    floor: 'bool inputs',
    div: 'int32 (the reference truncates toward zero, tfjs floors)',
    pow: 'int32 (the reference computes Math.pow in doubles)',
    pad: 'negative padding (cropping)',
    scatterAdd: 'bool',
    indexAdd: 'bool',
  };
  private readonly clearCache: () => void;

  /**
   * @param name the methodzoo backend name ('tfjs-wasm', 'tfjs-node', ...)
   * @param tf the tfjs namespace whose engine holds the tensors
   * @param tfBackend the tfjs backend to run on ('wasm', 'tensorflow', 'cpu')
   * @param engine what runs underneath, in words (the build, its threads)
   */
  constructor(
    readonly name: string,
    readonly tf: Tf,
    readonly tfBackend: string,
    readonly engine = tfBackend,
  ) {
    const made = makeKernels(tf, () => this.activate());
    this.kernels = made.kernels;
    this.clearCache = made.clearCache;
  }

  /** tfjs runs ops on one active backend; switch back when another tfjs backend took over. */
  activate(): void {
    if (this.tf.getBackend() !== this.tfBackend) void this.tf.setBackend(this.tfBackend);
  }

  upload(data: TypedArray, dtype: DType): TfTensor {
    this.activate();
    if (dtype === 'float64') throw new Error(`${this.name}: float64 is not supported by TensorFlow.js; cast to float32`);
    return this.tf.tensor(data as Float32Array | Int32Array | Uint8Array, [data.length], dtype);
  }
  async read(handle: TfTensor): Promise<TypedArray> {
    return (await handle.data()) as TypedArray;
  }
  readSync(handle: TfTensor): TypedArray {
    return handle.dataSync() as TypedArray;
  }
  release(handle: TfTensor): void {
    handle.dispose();
  }
  /** Frees the cached index tables of unfold/fold/gather (rebuilt on demand). */
  clearCaches(): void {
    this.clearCache();
  }
}

/**
 * @methodzoo/backend-tfjs: the core's primitives on TensorFlow.js. Importing this module registers
 * three backends with the core's registry (nothing loads until one is initialised):
 *
 * | name            | engine                                  | priority |
 * | --------------- | --------------------------------------- | -------- |
 * | `tfjs-node-gpu` | `@tensorflow/tfjs-node-gpu` (optional)  | 30       |
 * | `tfjs-node`     | `@tensorflow/tfjs-node` (optional)      | 20       |
 * | `tfjs-wasm`     | `@tensorflow/tfjs-backend-wasm` (XNNPACK) | 10     |
 *
 * `await initBackends()` makes the best one that loads the default; `backendInfo()` says why the
 * others were skipped.
 */
import { registerBackend } from '@methodzoo/core';
import { TfjsBackend } from './backend.js';
import { loadNode, loadWasm } from './engines.js';

export { TfjsBackend, TFJS_DTYPES } from './backend.js';
export { importOptional, loadNode, loadWasm, type Importer, type WasmEngine } from './engines.js';
export { makeKernels, type Tf, type TfTensor } from './kernels.js';

export const TFJS_BACKENDS = { 'tfjs-node-gpu': 30, 'tfjs-node': 20, 'tfjs-wasm': 10 } as const;

registerBackend(
  'tfjs-wasm',
  async () => {
    const engine = await loadWasm();
    return new TfjsBackend('tfjs-wasm', engine.tf, 'wasm', `tfjs-backend-wasm 4.22, ${engine.build}`);
  },
  TFJS_BACKENDS['tfjs-wasm'],
);
registerBackend('tfjs-node', async () => new TfjsBackend('tfjs-node', await loadNode('@tensorflow/tfjs-node'), 'tensorflow', '@tensorflow/tfjs-node (TensorFlow C library, CPU)'), TFJS_BACKENDS['tfjs-node']);
registerBackend('tfjs-node-gpu', async () => new TfjsBackend('tfjs-node-gpu', await loadNode('@tensorflow/tfjs-node-gpu'), 'tensorflow', '@tensorflow/tfjs-node-gpu (TensorFlow C library, CUDA)'), TFJS_BACKENDS['tfjs-node-gpu']);

/**
 * @methodzoo/backend-gpujs: the core's primitives compiled by gpu.js 2.24. Importing this module
 * registers three backends with the core's registry (nothing loads until one is initialised):
 *
 * | name                 | gpu.js mode                                  | reads        | priority |
 * | -------------------- | -------------------------------------------- | ------------ | -------- |
 * | `gpujs-webgpu`       | `webgpu` (WGSL compute shaders; Dawn in Node)  | async only   | 40       |
 * | `gpujs-webasm`       | `webasm` (WebAssembly f32x4 SIMD, one thread) | sync + async | -1       |
 * | `gpujs-webasm-async` | `webasm` under the async contract (workers)  | async only   | -2       |
 *
 * `await initBackends()` makes the best one that loads the default (WebGPU where an adapter answers,
 * else whatever else is registered: the WebAssembly engines are below the reference backend and
 * run when named); `backendInfo()` says why WebGPU was skipped (Dawn failed to load, or no adapter).
 */
import { registerBackend } from '@methodzoo/core';
import { GpujsBackend } from './backend.js';
import { loadWebAsm, loadWebGpu } from './loaders.js';

export { GpujsBackend, GpujsHandle, GPUJS_DTYPES } from './backend.js';
export { Engine, type EngineMode, loadGpuJs } from './engine.js';
export { loadWebAsm, loadWebGpu, provideNavigatorGpu, requireGpuJs, type Importer } from './loaders.js';
export { makeKernels, F32_ONLY } from './kernels.js';

/**
 * WebGPU outranks every CPU backend. gpu.js's WebAssembly engines rank below the reference backend
 * (priority 0): they compute one output cell per kernel thread with no tiling, which on a CPU is
 * slower than the reference's loops (see the bench), so they run only when asked for by name.
 */
export const GPUJS_BACKENDS = { 'gpujs-webgpu': 40, 'gpujs-webasm': -1, 'gpujs-webasm-async': -2 } as const;

registerBackend('gpujs-webgpu', async () => new GpujsBackend('gpujs-webgpu', 'webgpu', await loadWebGpu()), GPUJS_BACKENDS['gpujs-webgpu']);
registerBackend('gpujs-webasm', () => new GpujsBackend('gpujs-webasm', 'webasm', loadWebAsm()), GPUJS_BACKENDS['gpujs-webasm']);
registerBackend('gpujs-webasm-async', () => new GpujsBackend('gpujs-webasm-async', 'webasm-async', loadWebAsm()), GPUJS_BACKENDS['gpujs-webasm-async']);

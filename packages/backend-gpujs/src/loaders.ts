/**
 * Bringing up gpu.js's engines. WebGPU in Node needs a WebGPU implementation installed as
 * `navigator.gpu`: the `webgpu` package (Dawn) provides one, loaded only when the WebGPU backend is
 * tried; in a browser `navigator.gpu` is already there. Every failure says why, so `backendInfo()`
 * can report it, and nothing is loaded at import time.
 */
import { BackendNotInstalled } from '@methodzoo/core';
import { type GpuJsModule, loadGpuJs } from './engine.js';

export type Importer = (specifier: string) => Promise<unknown>;
const dynamicImport: Importer = (specifier) => import(/* @vite-ignore */ specifier);

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** gpu.js itself (a dependency: its absence is an install problem, reported as not installed). */
export function requireGpuJs(load: () => GpuJsModule = loadGpuJs): GpuJsModule {
  try {
    return load();
  } catch (e) {
    throw new BackendNotInstalled(`gpu.js is not installed (npm install gpu.js@2.24.1): ${message(e)}`);
  }
}

interface DawnModule {
  create(options: string[]): unknown;
  globals: Record<string, unknown>;
}

/**
 * Makes `navigator.gpu` available: the browser's, or Dawn's from the `webgpu` package, whose
 * native binary is loaded here (it fails on systems older than the one it was built for, e.g.
 * glibc < 2.38, and that error is what the registry reports).
 */
export async function provideNavigatorGpu(importer: Importer = dynamicImport): Promise<void> {
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator?.gpu) return;
  let dawn: DawnModule;
  try {
    dawn = (await importer('webgpu')) as DawnModule;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && message(e).includes("'webgpu'")) {
      throw new BackendNotInstalled('the webgpu package (Dawn for Node) is not installed; npm install webgpu@0.2.9');
    }
    throw new Error(`WebGPU skipped: Dawn (the webgpu package) failed to load: ${message(e)}`);
  }
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create([]);
  if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
}

/** A gpu.js GPU in webgpu mode, after checking that an adapter answers. */
export async function loadWebGpu(importer: Importer = dynamicImport, load: () => GpuJsModule = loadGpuJs) {
  const { GPU } = requireGpuJs(load);
  await provideNavigatorGpu(importer);
  if (!(await GPU.isWebGPUAvailable())) throw new Error('WebGPU skipped: navigator.gpu is present but requestAdapter() found no adapter (no GPU, or no driver for it)');
  return new GPU({ mode: 'webgpu' });
}

/** A gpu.js GPU in webasm mode (WebAssembly SIMD; the async contract adds a worker pool). */
export function loadWebAsm(load: () => GpuJsModule = loadGpuJs) {
  const { GPU } = requireGpuJs(load);
  if (!GPU.isWebAssemblySupported) throw new Error('gpu.js reports no WebAssembly support on this platform');
  return new GPU({ mode: 'webasm' });
}

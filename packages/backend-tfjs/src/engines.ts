/**
 * Loading the tfjs engines. `@tensorflow/tfjs-backend-wasm` is a dependency; its .wasm files are
 * located inside the installed package (tfjs would otherwise fetch them relative to a script URL,
 * which Node has not got). `@tensorflow/tfjs-node` and `@tensorflow/tfjs-node-gpu` are optional:
 * imported only when asked for, and reported as not installed (never a crash) when absent.
 */
import { BackendNotInstalled } from '@methodzoo/core';
import type { Tf } from './kernels.js';

export type Importer = (specifier: string) => Promise<unknown>;
const dynamicImport: Importer = (specifier) => import(/* @vite-ignore */ specifier);

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

/**
 * Imports an optional package: a missing package becomes `BackendNotInstalled` saying what to
 * install; any other failure (a native library that does not load) keeps its message.
 */
export async function importOptional(specifier: string, importer: Importer = dynamicImport): Promise<unknown> {
  try {
    return await importer(specifier);
  } catch (e) {
    const err = e as { code?: string; message?: string };
    const message = err?.message ?? String(e);
    const missing = (err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'MODULE_NOT_FOUND' || /Cannot find (package|module)|Failed to load url/.test(message)) && message.includes(specifier);
    if (missing && !/\.node['"]/.test(message)) {
      throw new BackendNotInstalled(`${specifier} is not installed; to use it, npm install ${specifier}@4.22.0 (it downloads TensorFlow's native library)`);
    }
    throw new Error(`${specifier} failed to load: ${message}`);
  }
}

/** The tfjs-core namespace with the wasm backend active (SIMD when the runtime has it). */
export async function loadWasm(): Promise<{ tf: Tf; threads: number }> {
  const tf = (await import('@tensorflow/tfjs-core')) as Tf;
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (isNode()) {
    const { createRequire } = await import('node:module');
    const { dirname } = await import('node:path');
    const require = createRequire(import.meta.url);
    wasm.setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}/`);
  }
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs-backend-wasm did not initialise (tf.setBackend returned false)');
  return { tf, threads: wasm.getThreadsCount() };
}

/** A tfjs-node module (CPU or CUDA build) with its native 'tensorflow' backend active. */
export async function loadNode(specifier: '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu', importer: Importer = dynamicImport): Promise<Tf> {
  const mod = (await importOptional(specifier, importer)) as Partial<Tf> & { default?: Tf };
  const tf = (typeof mod.setBackend === 'function' ? mod : mod.default) as Tf;
  if (!(await tf.setBackend('tensorflow'))) throw new Error(`${specifier} loaded but its 'tensorflow' backend did not initialise`);
  return tf;
}

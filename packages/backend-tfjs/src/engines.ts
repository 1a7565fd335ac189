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

export interface WasmEngine {
  tf: Tf;
  /** XNNPACK threads in use. */
  threads: number;
  /** Which build runs, and why not the threaded one when it does not. */
  build: string;
}

/**
 * Threads for tfjs-backend-wasm: `METHODZOO_TFJS_WASM_THREADS` (1 selects the single-threaded
 * build), else one per logical core. On 2 cores the threaded build ran a 1024 matmul at 1.6-1.9x
 * the single-threaded one when the second core was free, and at 1x (same CPU time) when other
 * jobs held it; the small CNN step, whose GEMMs are small, at 0.9-1.0x.
 */
async function wantedThreads(): Promise<number> {
  const env = isNode() ? process.env.METHODZOO_TFJS_WASM_THREADS : undefined;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) throw new Error(`METHODZOO_TFJS_WASM_THREADS must be a positive integer, got '${env}'`);
    return n;
  }
  if (!isNode()) return 1;
  const { availableParallelism } = await import('node:os');
  return availableParallelism();
}

/**
 * Prepares tfjs-backend-wasm's threaded build for Node, which it does not start as shipped:
 * Emscripten hands worker_threads `blob:` URLs (for the worker script, and for the main script
 * the worker imports) that Node cannot load. Both scripts are written to a folder in the system's
 * temporary directory (named by a hash of their content, so processes share it), the
 * worker file first pointing its own `URL.createObjectURL` at the main script, and the main
 * thread's `URL.createObjectURL` answers with the worker file while tfjs initialises. XNNPACK also
 * caps its pool at half the logical cores (one thread on a 2-core machine), so `os.cpus()` reports
 * the cores twice during initialisation. Returns the function that undoes the patches.
 */
async function patchThreadedStart(): Promise<() => void> {
  const { createRequire } = await import('node:module');
  const { createHash } = await import('node:crypto');
  const { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { dirname, join } = await import('node:path');
  const require = createRequire(import.meta.url);
  const out = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js'));
  const factory = require(join(out, 'tfjs-backend-wasm-threaded-simd.js')) as { default?: () => void } & (() => void);
  const { wasmWorkerContents } = require(join(out, 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string };
  const main = `var WasmBackendModuleThreadedSimd = ${(factory.default ?? factory).toString()}`;
  // one folder per content, reused by later processes; files appear whole (written, then renamed)
  const dir = join(tmpdir(), `methodzoo-tfjs-wasm-${createHash('sha256').update(main).update(wasmWorkerContents).digest('hex').slice(0, 16)}`);
  mkdirSync(dir, { recursive: true });
  const mainPath = join(dir, 'main.js');
  const workerPath = join(dir, 'worker.js');
  // the worker source is a template literal in tfjs: its "\n" escapes must stay escapes
  const worker = `URL.createObjectURL=function(){return ${JSON.stringify(mainPath)}};URL.revokeObjectURL=function(){};\n${wasmWorkerContents.replace(/\n/g, '\\n')}`;
  for (const [path, text] of [[mainPath, main], [workerPath, worker]] as const) {
    if (existsSync(path) && readFileSync(path, 'utf8') === text) continue;
    const part = `${path}.${process.pid}`;
    writeFileSync(part, text);
    renameSync(part, path);
  }
  const os = require('node:os') as { cpus: () => unknown[] };
  const cpus = os.cpus;
  const createObjectURL = URL.createObjectURL;
  os.cpus = () => [...cpus(), ...cpus()];
  URL.createObjectURL = () => workerPath;
  return () => {
    os.cpus = cpus;
    URL.createObjectURL = createObjectURL;
  };
}

interface PThreads {
  unusedWorkers: { unref(): void }[];
  runningWorkers: { unref(): void }[];
}
const pthreadsOf = (tf: Tf) => (tf.findBackend('wasm') as unknown as { wasm?: { PThread?: PThreads } }).wasm?.PThread;

/** Lets the process exit while Emscripten's worker threads idle. */
function unrefWorkers(tf: Tf): void {
  const pthread = pthreadsOf(tf);
  for (const w of [...(pthread?.unusedWorkers ?? []), ...(pthread?.runningWorkers ?? [])]) w.unref();
}

/**
 * The tfjs-core namespace with the wasm backend active: SIMD, and the threaded build when more than
 * one thread is wanted and it starts (else the single-threaded build, saying why).
 */
export async function loadWasm(): Promise<WasmEngine> {
  const tf = (await import('@tensorflow/tfjs-core')) as Tf;
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const threads = await wantedThreads();
  let why = 'single-threaded build';
  if (isNode()) {
    const { createRequire } = await import('node:module');
    const { dirname } = await import('node:path');
    const require = createRequire(import.meta.url);
    wasm.setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}/`);
    if (threads > 1) {
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
      wasm.setThreadsCount(threads);
      const undo = await patchThreadedStart();
      let started = false;
      try {
        started = await tf.setBackend('wasm');
      } catch (e) {
        why = `single-threaded build (the threaded one failed: ${e instanceof Error ? e.message : String(e)})`;
      } finally {
        undo();
      }
      if (started) {
        unrefWorkers(tf);
        return { tf, threads: wasm.getThreadsCount(), build: `threaded SIMD build, ${wasm.getThreadsCount()} threads` };
      }
      if (why === 'single-threaded build') why = 'single-threaded build (the threaded one did not initialise)';
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      wasm.setThreadsCount(1);
    }
  }
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs-backend-wasm did not initialise (tf.setBackend returned false)');
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return { tf, threads: wasm.getThreadsCount(), build: `${why}${simd ? ', SIMD' : ', no SIMD'}` };
}

/** A tfjs-node module (CPU or CUDA build) with its native 'tensorflow' backend active. */
export async function loadNode(specifier: '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu', importer: Importer = dynamicImport): Promise<Tf> {
  const mod = (await importOptional(specifier, importer)) as Partial<Tf> & { default?: Tf };
  const tf = (typeof mod.setBackend === 'function' ? mod : mod.default) as Tf;
  if (!(await tf.setBackend('tensorflow'))) throw new Error(`${specifier} loaded but its 'tensorflow' backend did not initialise`);
  return tf;
}

/**
 * WebGPU check for a machine with a GPU (run by tools/gpu-check.sh): initialises `gpujs-webgpu`
 * (printing why not, and exiting 2, when it cannot), runs the core's golden op cases on it through
 * the async runner (values and float32 gradients against PyTorch), and reports which gpu.js mode each
 * compiled kernel ran in. Exits 1 when a case fails or a kernel did not run on WebGPU.
 * `--backend gpujs-webasm-async` runs the same checks on gpu.js's async WebAssembly engine (the
 * same queued code path), to try the script on a machine without a GPU.
 */
import { parseArgs } from 'node:util';
import { backendInfo, setBackendAsync } from '@methodzoo/core';
import { type GpujsBackend } from '../src/index.js';
import '../src/index.js';
import { ASYNC_EXCLUSIONS, runGoldenAsync } from '../test/helpers/async-golden.js';

const { values } = parseArgs({ options: { backend: { type: 'string', default: 'gpujs-webgpu' } } });
const name = values.backend;
const expectedMode = name === 'gpujs-webgpu' ? 'webgpu' : 'webasm';

let backend: GpujsBackend;
try {
  backend = (await setBackendAsync(name)) as unknown as GpujsBackend;
} catch (e) {
  console.log(`${name} did not initialise: ${(e as Error).message}`);
  console.log(JSON.stringify(backendInfo().backends, null, 2));
  process.exit(2);
}
const adapter = expectedMode !== 'webgpu' ? null : await (globalThis as unknown as { navigator: { gpu: { requestAdapter(): Promise<{ info?: Record<string, string> } | null> } } }).navigator.gpu.requestAdapter();
if (adapter) console.log(`WebGPU adapter: ${JSON.stringify(adapter.info ?? {})}`);

const t0 = performance.now();
const results = await runGoldenAsync(backend as never, ASYNC_EXCLUSIONS);
const failed = results.filter((r) => r.problem);
console.log(`golden op cases on ${name}: ${results.length - failed.length} passed, ${failed.length} failed, ${Object.keys(ASYNC_EXCLUSIONS).length} excluded (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
for (const f of failed) console.log(`  FAIL ${f.family} ${f.name}: ${f.problem}`);
for (const [name, reason] of Object.entries(ASYNC_EXCLUSIONS)) console.log(`  excluded ${name}: ${reason}`);

const modes = backend.kernelModes();
const notGpu = Object.entries(modes).filter(([, m]) => m !== expectedMode);
console.log(`compiled kernels: ${Object.keys(modes).length}, not on ${expectedMode}: ${notGpu.length ? notGpu.map(([k, m]) => `${k}=${m}`).join(', ') : 'none'}`);
const fallbacks = backendInfo().fallbacks.filter((f) => f.backend === name);
for (const f of fallbacks) console.log(`  reference fallback: ${f.prim} x${f.count} (${f.reason})`);
process.exit(failed.length || notGpu.length ? 1 : 0);

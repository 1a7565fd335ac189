/**
 * gpu.js backend benchmark, with the reference backend measured in the same run: the small CNN
 * training step (the core bench's: batch 64, 1x28x28, three 3x3 convs + linear), a 1024x1024
 * matmul, and per-op dispatch overhead (microseconds per 1-element add). Async engines are timed
 * to the settled result (a step ends with `await loss.data()`, a matmul with `await flush()`).
 * Prints a table and writes bench/results/gpujs.json.
 *
 * Usage: pnpm bench [-- --backends reference,gpujs-webasm,gpujs-webasm-async,gpujs-webgpu --quick]
 * Backends that do not initialise (no WebGPU adapter) are listed with the reason and skipped.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as mz from '@methodzoo/core';
import { CNN } from '../../core/bench/lib/cases.js';
import { makeCnn } from '../../core/bench/lib/ours.js';
import { measure, measureAsync, type Sample } from '../../core/bench/lib/timing.js';
import type { GpujsBackend } from '../src/index.js';
import '../src/index.js';

const { values } = parseArgs({
  options: {
    backends: { type: 'string', default: 'reference,gpujs-webasm,gpujs-webasm-async,gpujs-webgpu' },
    quick: { type: 'boolean', default: false },
  },
});
const names = values.backends.split(',');
const repeats = values.quick ? 3 : 5;

interface Row {
  backend: string;
  cnnStepMs?: number;
  matmul1024Ms?: number;
  matmulGflops?: number;
  dispatchUs?: number;
  skipped?: string;
}

/** One SGD step of the core bench's CNN, ending on the loss value read asynchronously. */
async function cnnStepAsync(net: ReturnType<typeof makeCnn>): Promise<number> {
  const loss = mz.scope(() => {
    const [w1, b1, w2, b2, w3, b3, wl, bl] = net.params as [mz.Tensor, mz.Tensor, mz.Tensor, mz.Tensor, mz.Tensor, mz.Tensor, mz.Tensor, mz.Tensor];
    let h = mz.relu(mz.conv2d(net.x, w1, b1, { padding: 1 }));
    h = mz.relu(mz.conv2d(h, w2, b2, { stride: 2, padding: 1 }));
    h = mz.relu(mz.conv2d(h, w3, b3, { stride: 2, padding: 1 }));
    const l = mz.crossEntropy(mz.linear(mz.mean(h, [2, 3]), wl, bl), net.y);
    mz.backward(l);
    mz.noGrad(() => {
      for (const p of net.params) {
        p.assign(mz.sub(p, mz.mul(p.grad!, CNN.lr)));
        p.grad!.dispose();
        p.grad = null;
      }
    });
    return l;
  });
  const v = (await loss.data())[0]!;
  loss.dispose();
  return v;
}

const ms = (s: Sample) => s.median * 1e3;
const rows: Row[] = [];
for (const name of names) {
  let backend: mz.Backend;
  try {
    backend = await mz.setBackendAsync(name);
  } catch (e) {
    rows.push({ backend: name, skipped: (e as Error).message });
    continue;
  }
  const flush = () => ((backend as Partial<GpujsBackend>).flush?.() ?? Promise.resolve());
  const row: Row = { backend: name };
  const gen = new mz.Generator(1);

  const a1 = mz.keep(mz.randn([1], { generator: gen }));
  const b1 = mz.keep(mz.randn([1], { generator: gen }));
  const batch = 200;
  const d = await measureAsync(
    async () => {
      mz.scope(() => {
        for (let i = 0; i < batch; i++) mz.add(a1, b1);
      });
      await flush();
    },
    { repeats, warmup: 3 },
  );
  row.dispatchUs = (d.median / batch) * 1e6;

  const a = mz.keep(mz.randn([1024, 1024], { generator: gen }));
  const b = mz.keep(mz.randn([1024, 1024], { generator: gen }));
  const mm = await measureAsync(
    async () => {
      const c = mz.matmul(a, b);
      await c.data();
      c.dispose();
    },
    { repeats: Math.min(repeats, 3), warmup: 1 },
  );
  row.matmul1024Ms = ms(mm);
  row.matmulGflops = (2 * 1024 ** 3) / mm.median / 1e9;

  const net = makeCnn(0);
  const cnn = await measureAsync(() => cnnStepAsync(net), { repeats, warmup: 2 });
  row.cnnStepMs = ms(cnn);
  for (const t of [a1, b1, a, b, ...net.params, net.x, net.y]) t.dispose();
  rows.push(row);
  console.error(`${name}: done`);
}

const ref = rows.find((r) => r.backend === 'reference' && !r.skipped);
const fmt = (v: number | undefined, digits = 1) => (v === undefined ? '-' : v.toFixed(digits));
const ratio = (v: number | undefined, base: number | undefined) => (v === undefined || base === undefined ? '-' : `${(base / v).toFixed(2)}x`);
console.log('\n| backend | CNN step (ms) | vs reference | matmul 1024 (ms) | GFLOP/s | vs reference | 1-element add (us/op) |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  if (r.skipped) {
    console.log(`| ${r.backend} | skipped: ${r.skipped} | | | | | |`);
    continue;
  }
  console.log(`| ${r.backend} | ${fmt(r.cnnStepMs)} | ${ratio(r.cnnStepMs, ref?.cnnStepMs)} | ${fmt(r.matmul1024Ms)} | ${fmt(r.matmulGflops, 2)} | ${ratio(r.matmul1024Ms, ref?.matmul1024Ms)} | ${fmt(r.dispatchUs)} |`);
}
console.log('(vs reference: how many times faster than the reference backend in this run; medians)');

const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'gpujs.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, rows }, null, 2));

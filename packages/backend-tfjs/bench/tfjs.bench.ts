/**
 * @methodzoo/backend-tfjs benchmark, every peer measured in the same run:
 *
 * - the small CNN training step (batch 64 of 1x28x28; conv3x3 1->16, 16->32 /2, 32->64 /2, ReLUs,
 *   global average pool, linear 64->10, cross-entropy, SGD) on our default backend, the same step
 *   written directly in tfjs on tfjs-backend-wasm, the reference backend, and PyTorch (python3);
 * - matmul 1024x1024x1024 on our default backend, raw tfjs-wasm, and numpy;
 * - per-op dispatch overhead of a 1-element add on each backend and on raw tfjs-wasm.
 *
 * Prints medians and ratios and writes bench/results/tfjs.json. Usage:
 *   pnpm bench [-- --repeats 7 --cnn-repeats 10 --reference-repeats 2 --no-torch]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import * as mz from '@methodzoo/core';
import * as tf from '@tensorflow/tfjs';
import { CNN } from '../../core/bench/lib/cases.js';
import { cnnStep, makeCnn } from '../../core/bench/lib/ours.js';
import { measure, type Sample } from '../../core/bench/lib/timing.js';
import { runTorch } from '../../core/bench/lib/torch.js';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import '../src/index.js';
import { rawTfjsCnn } from './lib/raw-tfjs.js';

const { values } = parseArgs({
  options: {
    repeats: { type: 'string', default: '7' },
    'cnn-repeats': { type: 'string', default: '10' },
    'reference-repeats': { type: 'string', default: '2' },
    'no-torch': { type: 'boolean', default: false },
  },
});
const repeats = Number(values.repeats);
const cnnRepeats = Number(values['cnn-repeats']);
const refRepeats = Number(values['reference-repeats']);

const ours = await mz.initBackends();
const info = mz.backendInfo();
const threads = getThreadsCount();
console.log(`default backend: ${ours.name} (tfjs-wasm threads: ${threads}); skipped: ${info.backends.filter((b) => b.status !== 'ready' && b.status !== 'not initialised').map((b) => `${b.name} (${b.status})`).join(', ') || 'none'}`);
const rows: { case: string; peer: string; sample: Sample; value: number; unit: string }[] = [];
const record = (kase: string, peer: string, sample: Sample, unit: 'steps/s' | 'GFLOP/s' | 'us/op', flops = 0) => {
  const value = unit === 'steps/s' ? 1 / sample.median : unit === 'GFLOP/s' ? flops / sample.median / 1e9 : sample.median * 1e6;
  rows.push({ case: kase, peer, sample, value, unit });
  console.log(`  ${kase.padEnd(12)} ${peer.padEnd(22)} ${value.toFixed(unit === 'us/op' ? 2 : 1).padStart(9)} ${unit}   (median ${(sample.median * 1e3).toFixed(2)} ms, ${sample.repeats}x${sample.inner})`);
  return value;
};

// ---- CNN training step ----------------------------------------------------------------------
console.log('CNN training step, batch 64:');
const cnn = makeCnn(0);
record('cnn_step', `ours (${ours.name})`, measure(() => cnnStep(cnn), { repeats: cnnRepeats, warmup: 3, inner: 1 }), 'steps/s');
const rawStep = rawTfjsCnn(CNN.batch, CNN.lr);
record('cnn_step', 'raw tfjs-wasm', measure(rawStep, { repeats: cnnRepeats, warmup: 3, inner: 1 }), 'steps/s');
if (refRepeats > 0) {
  const refCnn = mz.setBackend('reference') && makeCnn(0);
  record('cnn_step', 'reference', measure(() => cnnStep(refCnn), { repeats: refRepeats, warmup: 1, inner: 1 }), 'steps/s');
  mz.setBackend(ours.name);
}

// ---- matmul 1024 ----------------------------------------------------------------------------
console.log('matmul 1024x1024x1024:');
const N = 1024;
const flops = 2 * N ** 3;
const g = new mz.Generator(3);
const a = mz.randn([N, N], { generator: g });
const b = mz.randn([N, N], { generator: g });
record('matmul_1024', `ours (${ours.name})`, measure(() => mz.scope(() => void mz.matmul(a, b).dataSync()), { repeats, inner: 1 }), 'GFLOP/s', flops);
const ta = tf.randomNormal([N, N]);
const tb = tf.randomNormal([N, N]);
record('matmul_1024', 'raw tfjs-wasm', measure(() => { const c = tf.matMul(ta, tb); c.dataSync(); c.dispose(); }, { repeats, inner: 1 }), 'GFLOP/s', flops);

// ---- dispatch overhead ----------------------------------------------------------------------
console.log('dispatch overhead, 1-element add:');
const batch = 1000;
for (const name of [ours.name, 'reference']) {
  const be = mz.getBackend(name);
  const x = mz.randn([1], { generator: g, backend: be });
  const y = mz.randn([1], { generator: g, backend: be });
  const s = measure(() => mz.scope(() => { for (let i = 0; i < batch; i++) mz.add(x, y); }), { repeats, warmup: 5 });
  record('dispatch', name, { ...s, median: s.median / batch, min: s.min / batch, inner: s.inner * batch }, 'us/op');
}
const t1 = tf.randomNormal([1]);
const t2 = tf.randomNormal([1]);
const sRaw = measure(() => tf.tidy(() => { for (let i = 0; i < batch; i++) tf.add(t1, t2); }), { repeats, warmup: 5 });
record('dispatch', 'raw tfjs-wasm', { ...sRaw, median: sRaw.median / batch, min: sRaw.min / batch, inner: sRaw.inner * batch }, 'us/op');

// ---- PyTorch / numpy ------------------------------------------------------------------------
let torchNote = 'skipped (--no-torch)';
if (!values['no-torch']) {
  const run = runTorch({ repeats, cnnRepeats, threads: availableParallelism(), only: ['cnn_step', 'matmul_1024'] });
  if (run.ok) {
    torchNote = `torch ${run.torch}, numpy ${run.numpy}, ${run.threads} threads`;
    for (const r of run.results) record(r.id === 'cnn_step' ? 'cnn_step' : 'matmul_1024', r.peer, r.sample, r.id === 'cnn_step' ? 'steps/s' : 'GFLOP/s', flops);
  } else torchNote = run.reason;
}

// ---- ratios ---------------------------------------------------------------------------------
const value = (kase: string, peer: string) => rows.find((r) => r.case === kase && r.peer === peer)?.value;
const ratio = (kase: string, peer: string, invert = false) => {
  const o = value(kase, `ours (${ours.name})`);
  const p = value(kase, peer);
  return o && p ? (invert ? p / o : o / p) : undefined;
};
const ratios = {
  'cnn_step ours/raw tfjs-wasm (target >= 3)': ratio('cnn_step', 'raw tfjs-wasm'),
  'cnn_step ours/reference (target >= 10)': ratio('cnn_step', 'reference'),
  'cnn_step ours/torch (goal 0.3)': ratio('cnn_step', 'torch'),
  'matmul_1024 ours/raw tfjs-wasm (target >= 1.5)': ratio('matmul_1024', 'raw tfjs-wasm'),
  'matmul_1024 ours/numpy (distance to the hardware)': ratio('matmul_1024', 'numpy'),
  'dispatch ours/reference (time per op)': ratio('dispatch', 'reference', true),
};
console.log(`peers: ${torchNote}`);
console.log('ratios (> 1: ours is faster):');
for (const [k, v] of Object.entries(ratios)) console.log(`  ${k.padEnd(52)} ${v === undefined ? 'n/a' : v.toFixed(2)}`);

const out = new URL('./results/', import.meta.url);
mkdirSync(out, { recursive: true });
writeFileSync(
  new URL('tfjs.json', out),
  `${JSON.stringify({ date: new Date().toISOString(), backend: ours.name, wasmThreads: threads, cpus: availableParallelism(), peers: torchNote, rows: rows.map(({ sample, ...r }) => ({ ...r, medianSeconds: sample.median, minSeconds: sample.min, repeats: sample.repeats, callsPerRepeat: sample.inner })), ratios }, null, 2)}\n`,
);

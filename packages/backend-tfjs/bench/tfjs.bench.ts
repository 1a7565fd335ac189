/**
 * @methodzoo/backend-tfjs benchmark, every peer measured in the same run:
 *
 * - the small CNN training step (batch 64 of 1x28x28; conv3x3 1->16, 16->32 /2, 32->64 /2, ReLUs,
 *   global average pool, linear 64->10, cross-entropy, SGD) on our default backend, the same step
 *   written directly in tfjs on tfjs-backend-wasm, the reference backend, and PyTorch (python3);
 * - matmul 1024x1024x1024 on our default backend, raw tfjs-wasm, and numpy;
 * - an attention-sized batched matmul ([8,197,64] x [8,64,197]) on ours and raw tfjs-wasm;
 * - per-op dispatch overhead of a 1-element add on each backend and on raw tfjs-wasm.
 *
 * tfjs-wasm runs one build per process: the main run uses the single-threaded build (raw tfjs-wasm
 * as it ships for Node); the threaded build's figures (ours by default, and raw tfjs on it) come
 * from a child process run with METHODZOO_TFJS_WASM_THREADS=<logical cores>.
 *
 * Prints medians and ratios and writes bench/results/tfjs.json. Usage:
 *   pnpm bench [-- --repeats 7 --cnn-repeats 10 --reference-repeats 2 --no-torch]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import * as mz from '@methodzoo/core';
import * as tf from '@tensorflow/tfjs';
import { CNN } from '../../core/bench/lib/cases.js';
import { cnnStep, makeCnn } from '../../core/bench/lib/ours.js';
import { measure, median, type Sample } from '../../core/bench/lib/timing.js';
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
    /** Child mode: only the tfjs-wasm cases, rows printed as JSON (run with METHODZOO_TFJS_WASM_THREADS=n). */
    child: { type: 'boolean', default: false },
  },
});
const child = values.child;
const repeats = Number(values.repeats);
const cnnRepeats = Number(values['cnn-repeats']);
const refRepeats = Number(values['reference-repeats']);

// the main run measures the single-threaded build; the child, the threaded one (our default)
if (!child) process.env.METHODZOO_TFJS_WASM_THREADS = '1';
const ours = await mz.initBackends();
const info = mz.backendInfo();
const threads = getThreadsCount();
const tag = child ? ' (threaded)' : '';
const log = child ? () => {} : console.log;
log(`main run: ${ours.name} (${(ours as { engine?: string }).engine ?? `${threads} threads`}); skipped: ${info.backends.filter((b) => b.status !== 'ready' && b.status !== 'not initialised').map((b) => `${b.name} (${b.status})`).join(', ') || 'none'}`);
const rows: { case: string; peer: string; sample: Sample; value: number; cpuValue: number; unit: string }[] = [];
const record = (kase: string, peer: string, sample: Sample, unit: 'steps/s' | 'GFLOP/s' | 'us/op', flops = 0) => {
  const of = (seconds: number) => (unit === 'steps/s' ? 1 / seconds : unit === 'GFLOP/s' ? flops / seconds / 1e9 : seconds * 1e6);
  const value = of(sample.median);
  const cpuValue = of(sample.cpuMedian);
  rows.push({ case: kase, peer: peer + tag, sample, value, cpuValue, unit });
  const digits = unit === 'us/op' ? 2 : 1;
  log(`  ${kase.padEnd(13)} ${(peer + tag).padEnd(30)} ${value.toFixed(digits).padStart(9)} ${unit}  (by CPU time ${cpuValue.toFixed(digits)}; median ${(sample.median * 1e3).toFixed(2)} ms, ${sample.repeats}x${sample.inner})`);
  return value;
};

/**
 * Times several functions sample by sample in turn (a, b, a, b, ...), so a machine whose load
 * changes during the run (a shared CI box) charges every peer alike. One call per sample.
 */
function interleaved(fns: (() => unknown)[], samples: number, warmup: number): Sample[] {
  for (let w = 0; w < warmup; w++) for (const f of fns) f();
  const cpuSeconds = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const times = fns.map(() => [] as number[]);
  const cpu = fns.map(() => [] as number[]);
  for (let r = 0; r < samples; r++) {
    fns.forEach((f, i) => {
      const c0 = cpuSeconds();
      const t0 = performance.now();
      f();
      times[i]!.push((performance.now() - t0) / 1000);
      cpu[i]!.push(cpuSeconds() - c0);
    });
  }
  return times.map((ts, i) => ({ median: median(ts), min: Math.min(...ts), repeats: samples, inner: 1, cpuMedian: median(cpu[i]!) }));
}

// ---- CNN training step ----------------------------------------------------------------------
log('CNN training step, batch 64:');
const cnn = makeCnn(0);
const rawStep = rawTfjsCnn(CNN.batch, CNN.lr);
const [oursCnn, rawCnn] = interleaved([() => cnnStep(cnn), rawStep], cnnRepeats, 3);
record('cnn_step', `ours (${ours.name})`, oursCnn!, 'steps/s');
record('cnn_step', 'raw tfjs-wasm', rawCnn!, 'steps/s');
if (refRepeats > 0 && !child) {
  const refCnn = mz.setBackend('reference') && makeCnn(0);
  record('cnn_step', 'reference', measure(() => cnnStep(refCnn), { repeats: refRepeats, warmup: 1, inner: 1 }), 'steps/s');
  mz.setBackend(ours.name);
}

// ---- matmul 1024 ----------------------------------------------------------------------------
log('matmul 1024x1024x1024:');
const N = 1024;
const flops = 2 * N ** 3;
const g = new mz.Generator(3);
const a = mz.randn([N, N], { generator: g });
const b = mz.randn([N, N], { generator: g });
const ta = tf.randomNormal([N, N]);
const tb = tf.randomNormal([N, N]);
const [oursMm, rawMm] = interleaved(
  [() => mz.scope(() => void mz.matmul(a, b).dataSync()), () => { const c = tf.matMul(ta, tb); c.dataSync(); c.dispose(); }],
  repeats,
  2,
);
record('matmul_1024', `ours (${ours.name})`, oursMm!, 'GFLOP/s', flops);
record('matmul_1024', 'raw tfjs-wasm', rawMm!, 'GFLOP/s', flops);

// ---- batched matmul, attention-sized ----------------------------------------------------------
// Q K^T of 8 heads (or batch x heads) over 197 tokens of dimension 64, as in ViT-B/16: both
// operands batched, which tfjs-wasm runs in a plain loop rather than XNNPACK.
log('batched matmul [8,197,64] x [8,64,197]:');
const bmmFlops = 2 * 8 * 197 * 197 * 64;
const q = mz.randn([8, 197, 64], { generator: g });
const kT = mz.randn([8, 64, 197], { generator: g });
const tq = tf.randomNormal([8, 197, 64]);
const tk = tf.randomNormal([8, 64, 197]);
const [oursBmm, rawBmm] = interleaved(
  [() => mz.scope(() => void mz.matmul(q, kT).dataSync()), () => { const c = tf.matMul(tq, tk); c.dataSync(); c.dispose(); }],
  repeats,
  2,
);
record('attention_bmm', `ours (${ours.name})`, oursBmm!, 'GFLOP/s', bmmFlops);
record('attention_bmm', 'raw tfjs-wasm', rawBmm!, 'GFLOP/s', bmmFlops);

// ---- dispatch overhead ----------------------------------------------------------------------
if (child) {
  console.log(JSON.stringify(rows));
  process.exit(0);
}
log('dispatch overhead, 1-element add:');
const batch = 1000;
for (const name of [ours.name, 'reference']) {
  const be = mz.getBackend(name);
  const x = mz.randn([1], { generator: g, backend: be });
  const y = mz.randn([1], { generator: g, backend: be });
  const s = measure(() => mz.scope(() => { for (let i = 0; i < batch; i++) mz.add(x, y); }), { repeats, warmup: 5 });
  record('dispatch', name === ours.name ? `ours (${name})` : name, { ...s, median: s.median / batch, min: s.min / batch, cpuMedian: s.cpuMedian / batch, inner: s.inner * batch }, 'us/op');
}
const t1 = tf.randomNormal([1]);
const t2 = tf.randomNormal([1]);
const sRaw = measure(() => tf.tidy(() => { for (let i = 0; i < batch; i++) tf.add(t1, t2); }), { repeats, warmup: 5 });
record('dispatch', 'raw tfjs-wasm', { ...sRaw, median: sRaw.median / batch, min: sRaw.min / batch, cpuMedian: sRaw.cpuMedian / batch, inner: sRaw.inner * batch }, 'us/op');

// ---- threaded tfjs-wasm build (child process) -------------------------------------------------
const script = fileURLToPath(import.meta.url);
const sub = spawnSync(process.execPath, [...process.execArgv, script, '--child', '--repeats', String(repeats), '--cnn-repeats', String(cnnRepeats)], {
  encoding: 'utf8',
  env: { ...process.env, METHODZOO_TFJS_WASM_THREADS: String(availableParallelism()) },
  maxBuffer: 16 * 1024 * 1024,
});
const childRows = sub.status === 0 ? (JSON.parse(sub.stdout.trim().split('\n').pop()!) as typeof rows) : [];
if (sub.status !== 0) console.log(`threaded run failed: ${sub.stderr.trim().split('\n').slice(-3).join(' | ')}`);
console.log(`threaded tfjs-wasm build, ${availableParallelism()} threads asked for (child process):`);
for (const r of childRows) {
  rows.push(r);
  console.log(`  ${r.case.padEnd(13)} ${r.peer.padEnd(30)} ${r.value.toFixed(1).padStart(9)} ${r.unit}  (by CPU time ${r.cpuValue.toFixed(1)}; median ${(r.sample.median * 1e3).toFixed(2)} ms)`);
}

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
const value = (kase: string, peer: string, byCpu: boolean) => rows.find((r) => r.case === kase && r.peer === peer)?.[byCpu ? 'cpuValue' : 'value'];
const ratio = (kase: string, peer: string, invert = false, mine = `ours (${ours.name})`) => {
  const both = [false, true].map((byCpu) => {
    const o = value(kase, mine, byCpu);
    const p = value(kase, peer, byCpu);
    return o && p ? (invert ? p / o : o / p) : undefined;
  });
  return { wall: both[0], cpu: both[1] };
};
const mine = `ours (${ours.name})`;
const threaded = `ours (${ours.name}) (threaded)`;
const ratios = {
  'cnn_step ours default (threaded)/raw tfjs-wasm as shipped (target >= 3)': ratio('cnn_step', 'raw tfjs-wasm', false, threaded),
  'cnn_step ours/raw tfjs-wasm, both single-threaded': ratio('cnn_step', 'raw tfjs-wasm'),
  'cnn_step ours/raw tfjs-wasm, both threaded': ratio('cnn_step', 'raw tfjs-wasm (threaded)', false, threaded),
  'cnn_step ours threaded/ours single-threaded': ratio('cnn_step', mine, false, threaded),
  'cnn_step ours default/reference (target >= 10)': ratio('cnn_step', 'reference', false, threaded),
  'cnn_step ours default/torch (goal 0.3)': ratio('cnn_step', 'torch', false, threaded),
  'matmul_1024 ours default/raw tfjs-wasm 1 thread (target >= 1.5)': ratio('matmul_1024', 'raw tfjs-wasm', false, threaded),
  'matmul_1024 ours/raw tfjs-wasm, both single-threaded': ratio('matmul_1024', 'raw tfjs-wasm'),
  'matmul_1024 ours threaded/ours single-threaded': ratio('matmul_1024', mine, false, threaded),
  'matmul_1024 ours default/numpy (distance to the hardware)': ratio('matmul_1024', 'numpy', false, threaded),
  'attention_bmm ours default/raw tfjs-wasm as shipped': ratio('attention_bmm', 'raw tfjs-wasm', false, threaded),
  'attention_bmm ours/raw tfjs-wasm, both threaded': ratio('attention_bmm', 'raw tfjs-wasm (threaded)', false, threaded),
  'dispatch speed ours/reference (single-threaded build)': ratio('dispatch', 'reference', true),
  'dispatch speed ours/raw tfjs-wasm (single-threaded build)': ratio('dispatch', 'raw tfjs-wasm', true),
};
console.log(`peers: ${torchNote}`);
console.log('ratios (> 1: ours is faster), by wall time and by CPU time (CPU time adds up all threads):');
const fmt = (v: number | undefined) => (v === undefined ? 'n/a' : v.toFixed(2));
for (const [k, v] of Object.entries(ratios)) console.log(`  ${k.padEnd(72)} ${fmt(v.wall).padStart(6)} ${fmt(v.cpu).padStart(6)}`);

const out = new URL('./results/', import.meta.url);
mkdirSync(out, { recursive: true });
writeFileSync(
  new URL('tfjs.json', out),
  `${JSON.stringify({ date: new Date().toISOString(), backend: ours.name, wasmThreads: threads, cpus: availableParallelism(), peers: torchNote, rows: rows.map(({ sample, ...r }) => ({ ...r, medianSeconds: sample.median, minSeconds: sample.min, cpuMedianSeconds: sample.cpuMedian, repeats: sample.repeats, callsPerRepeat: sample.inner })), ratios }, null, 2)}\n`,
);

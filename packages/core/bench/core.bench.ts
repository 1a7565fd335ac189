/**
 * @methodzoo/core benchmark: the reference backend against TensorFlow.js (`cpu` backend) and, when
 * python3 can import torch, PyTorch and numpy on the CPU. Prints a table of medians and speed
 * ratios and writes bench/results/core.json.
 *
 *   nx run core:bench                       # everything
 *   pnpm bench -- --only matmul_1024,add_4m --no-tfjs
 *
 * Options (flags, or the environment variable in brackets):
 *   --repeats N             timed samples per case (BENCH_REPEATS, default 7)
 *   --cnn-repeats N         timed CNN steps for ours and torch (BENCH_CNN_REPEATS, default 10)
 *   --tfjs-slow-repeats N   runs of tfjs-cpu's ~20 s cases, CNN step and conv backward (BENCH_TFJS_SLOW_REPEATS, default 1; 0 skips)
 *   --torch-threads N       torch / numpy threads (BENCH_TORCH_THREADS, default 1: every peer on one core)
 *   --only a,b              case ids (see bench/lib/cases.ts)
 *   --no-tfjs, --no-torch   skip a peer
 *   --out FILE              JSON path (default bench/results/core.json)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, platform, arch } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CASES } from './lib/cases.js';
import { runOurs } from './lib/ours.js';
import { buildCases, checkTargets, formatTable, formatTargets, type Measured } from './lib/report.js';
import { runTorch } from './lib/torch.js';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
function flag(name: string): string | undefined {
  const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  const a = argv[i]!;
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[i + 1];
}
function intOption(name: string, env: string, fallback: number): number {
  const raw = flag(name) ?? process.env[env];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 0) throw new Error(`--${name} (${env}) must be a non-negative integer, got '${raw}'`);
  return v;
}

const config = {
  repeats: Math.max(1, intOption('repeats', 'BENCH_REPEATS', 7)),
  cnnRepeats: Math.max(1, intOption('cnn-repeats', 'BENCH_CNN_REPEATS', 10)),
  tfjsSlowRepeats: intOption('tfjs-slow-repeats', 'BENCH_TFJS_SLOW_REPEATS', 1),
  torchThreads: Math.max(1, intOption('torch-threads', 'BENCH_TORCH_THREADS', 1)),
  only: (flag('only') ?? process.env.BENCH_ONLY ?? '').split(',').filter(Boolean),
  tfjs: !argv.includes('--no-tfjs'),
  torch: !argv.includes('--no-torch'),
  out: resolve(flag('out') ?? resolve(here, 'results/core.json')),
};
const unknown = config.only.filter((id) => !CASES.some((c) => c.id === id));
if (unknown.length) throw new Error(`unknown case ids ${unknown.join(', ')}; known: ${CASES.map((c) => c.id).join(', ')}`);
const only = (id: string) => config.only.length === 0 || config.only.includes(id);

const log = (msg: string) => console.log(`[bench] ${msg}`);
const measured: Measured[] = [];
const notes: string[] = [];

log(`ours (reference backend), ${config.repeats} repeats, ${config.cnnRepeats} CNN steps`);
for (const r of runOurs({ repeats: config.repeats, cnnRepeats: config.cnnRepeats, only })) measured.push({ peer: 'ours', ...r });

let torchInfo: Record<string, unknown> = { skipped: 'disabled with --no-torch' };
if (config.torch) {
  log(`torch / numpy via bench/torch_peer.py, ${config.torchThreads} thread(s)`);
  const t = runTorch({ repeats: config.repeats, cnnRepeats: config.cnnRepeats, threads: config.torchThreads, only: config.only });
  if (t.ok) {
    torchInfo = { torch: t.torch, numpy: t.numpy, threads: t.threads };
    for (const r of t.results) measured.push(r);
  } else {
    torchInfo = { skipped: t.reason };
    notes.push(`torch/numpy peers skipped: ${t.reason}`);
    log(notes[notes.length - 1]!);
  }
} else notes.push('torch/numpy peers skipped: --no-torch');

let tfjsInfo: Record<string, unknown> = { skipped: 'disabled with --no-tfjs' };
if (config.tfjs) {
  log(`tfjs-cpu, ${config.repeats} repeats (slow cases: ${config.tfjsSlowRepeats} run(s), ~20 s each)`);
  try {
    const { runTfjs } = await import('./lib/tfjs.js');
    const tf = await import('@tensorflow/tfjs');
    for (const r of await runTfjs({ repeats: config.repeats, slowRepeats: config.tfjsSlowRepeats, only })) measured.push({ peer: 'tfjs-cpu', ...r });
    tfjsInfo = { version: tf.version.tfjs, backend: 'cpu', slowRepeats: config.tfjsSlowRepeats };
    if (config.tfjsSlowRepeats === 0) notes.push('tfjs-cpu conv backward and CNN step skipped (--tfjs-slow-repeats 0)');
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    tfjsInfo = { skipped: reason };
    notes.push(`tfjs-cpu peer skipped: ${reason}`);
  }
} else notes.push('tfjs-cpu peer skipped: --no-tfjs');

const cases = buildCases(measured);
const targets = checkTargets(cases);
const peerLine = [
  'ours: reference backend (pure TS, 1 thread)',
  'version' in tfjsInfo ? `tfjs-cpu: @tensorflow/tfjs ${String(tfjsInfo.version)} cpu backend` : `tfjs-cpu: skipped`,
  'torch' in torchInfo ? `torch ${String(torchInfo.torch)} / numpy ${String(torchInfo.numpy)}: ${String(torchInfo.threads)} thread(s)` : 'torch/numpy: skipped',
].join('; ');
console.log(`\n@methodzoo/core benchmark (node ${process.version}, ${cpus()[0]?.model ?? 'unknown cpu'} x${cpus().length})`);
console.log(`${peerLine}\n`);
console.log(formatTable(cases));
console.log('\nreference-backend targets:');
console.log(formatTargets(targets));
for (const n of notes) console.log(`note: ${n}`);

mkdirSync(dirname(config.out), { recursive: true });
writeFileSync(
  config.out,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      environment: { node: process.version, platform: platform(), arch: arch(), cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length },
      config: { ...config, out: undefined },
      peers: { ours: { backend: 'reference' }, 'tfjs-cpu': tfjsInfo, torch: torchInfo },
      cases,
      targets,
      notes,
    },
    null,
    2,
  ) + '\n',
);
log(`wrote ${config.out}`);

/** Runs bench/torch_peer.py as a child process and reads its JSON; a missing python3 or torch is a note, not a failure. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Sample } from './timing.js';

export interface PeerResult {
  peer: 'torch' | 'numpy';
  id: string;
  sample: Sample;
  extra?: Record<string, unknown>;
}

export type TorchRun = { ok: true; torch: string; numpy: string; threads: number; results: PeerResult[] } | { ok: false; reason: string };

const script = fileURLToPath(new URL('../torch_peer.py', import.meta.url));

export function runTorch(cfg: { repeats: number; cnnRepeats: number; threads: number; only: string[] }): TorchRun {
  const python = process.env.PYTHON ?? 'python3';
  const threads = String(cfg.threads);
  const res = spawnSync(python, [script, JSON.stringify({ repeats: cfg.repeats, cnn_repeats: cfg.cnnRepeats, threads: cfg.threads, only: cfg.only })], {
    encoding: 'utf8',
    // numpy's BLAS reads these at import; torch gets set_num_threads
    env: { ...process.env, OMP_NUM_THREADS: threads, OPENBLAS_NUM_THREADS: threads, MKL_NUM_THREADS: threads },
    maxBuffer: 16 * 1024 * 1024,
    timeout: 10 * 60 * 1000,
  });
  if (res.error) return { ok: false, reason: `${python} could not run (${res.error.message})` };
  if (res.status !== 0) return { ok: false, reason: `${python} ${script} exited with ${res.status}: ${res.stderr.trim().split('\n').slice(-3).join(' | ')}` };
  let parsed: { error?: string; torch: string; numpy: string; threads: number; results: ({ peer: 'torch' | 'numpy'; id: string; extra?: Record<string, unknown> } & Sample)[] };
  try {
    parsed = JSON.parse(res.stdout.trim().split('\n').pop()!);
  } catch {
    return { ok: false, reason: `torch peer printed no JSON: ${res.stdout.slice(0, 200)}` };
  }
  if (parsed.error) return { ok: false, reason: `torch is not importable (${parsed.error})` };
  return {
    ok: true,
    torch: parsed.torch,
    numpy: parsed.numpy,
    threads: parsed.threads,
    results: parsed.results.map(({ peer, id, extra, median, min, repeats, inner, cpuMedian }) => ({ peer, id, sample: { median, min, repeats, inner, cpuMedian }, ...(extra ? { extra } : {}) })),
  };
}

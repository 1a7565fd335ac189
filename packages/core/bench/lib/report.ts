/** Builds the result table (medians, best, sample counts and speed ratios) and its JSON form. */
import { CASES, throughput } from './cases.js';
import type { Sample } from './timing.js';

export const PEERS = ['ours', 'tfjs-cpu', 'torch', 'numpy'] as const;
export type Peer = (typeof PEERS)[number];

export interface Measured {
  peer: Peer;
  id: string;
  sample: Sample;
  extra?: Record<string, unknown> | undefined;
}

export interface CellJson {
  medianSeconds: number;
  minSeconds: number;
  /** Median process CPU seconds per call. */
  cpuSeconds: number;
  repeats: number;
  callsPerRepeat: number;
  /** Throughput in the case's unit from the median (us/op: microseconds per op). */
  value: number;
  /** The same from the fastest sample. */
  best: number;
  gelemPerSecond?: number;
  extra?: Record<string, unknown>;
}

export interface CaseJson {
  id: string;
  label: string;
  unit: string;
  flops?: number;
  bytes?: number;
  elems?: number;
  results: Partial<Record<Peer, CellJson>>;
  /** Speed-ups of ours over each peer: peer median time / our median time (> 1: ours is faster). */
  ratios: Partial<Record<RatioKey, number>>;
  /** The same from median CPU time, steadier when other jobs load the machine. */
  cpuRatios: Partial<Record<RatioKey, number>>;
}
type RatioKey = 'ours/tfjs-cpu' | 'ours/torch' | 'ours/numpy';

export function buildCases(measured: readonly Measured[]): CaseJson[] {
  return CASES.filter((spec) => measured.some((m) => m.id === spec.id)).map((spec) => {
    const results: CaseJson['results'] = {};
    for (const m of measured) {
      if (m.id !== spec.id) continue;
      const cell: CellJson = {
        medianSeconds: m.sample.median,
        minSeconds: m.sample.min,
        cpuSeconds: m.sample.cpuMedian,
        repeats: m.sample.repeats,
        callsPerRepeat: m.sample.inner,
        value: throughput(spec, m.sample.median),
        best: throughput(spec, m.sample.min),
      };
      if (spec.elems) cell.gelemPerSecond = spec.elems / m.sample.median / 1e9;
      if (m.extra) cell.extra = m.extra;
      results[m.peer] = cell;
    }
    const ratios: CaseJson['ratios'] = {};
    const cpuRatios: CaseJson['cpuRatios'] = {};
    const ours = results.ours;
    if (ours) {
      for (const p of ['tfjs-cpu', 'torch', 'numpy'] as const) {
        const r = results[p];
        if (!r) continue;
        ratios[`ours/${p}`] = r.medianSeconds / ours.medianSeconds;
        cpuRatios[`ours/${p}`] = r.cpuSeconds / ours.cpuSeconds;
      }
    }
    return {
      id: spec.id,
      label: spec.label,
      unit: spec.unit,
      ...(spec.flops ? { flops: spec.flops } : {}),
      ...(spec.bytes ? { bytes: spec.bytes, elems: spec.elems! } : {}),
      results,
      ratios,
      cpuRatios,
    };
  });
}

const fmtNum = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v >= 0.01 ? v.toFixed(3) : v >= 0.001 ? v.toFixed(4) : v.toExponential(2));

function cellText(c: CellJson | undefined): string {
  if (!c) return '-';
  return `${fmtNum(c.value)} [${fmtNum(c.best)}] x${c.repeats}`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, j) => Math.max(...rows.map((r) => r[j]!.length)));
  const line = (r: string[]) => r.map((s, j) => (j === 0 ? s.padEnd(widths[j]!) : s.padStart(widths[j]!))).join('  ');
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

export function formatTable(cases: readonly CaseJson[]): string {
  const header = ['case', 'unit', ...PEERS, 'ours/tfjs', 'ours/torch', 'cpu: ours/tfjs', 'ours/torch'];
  const ratio = (v: number | undefined) => (v !== undefined ? `${fmtNum(v)}x` : '-');
  const rows = cases.map((c) => [
    c.label,
    c.unit,
    ...PEERS.map((p) => cellText(c.results[p])),
    ratio(c.ratios['ours/tfjs-cpu']),
    ratio(c.ratios['ours/torch']),
    ratio(c.cpuRatios['ours/tfjs-cpu']),
    ratio(c.cpuRatios['ours/torch']),
  ]);
  const elementwise = cases
    .filter((c) => c.elems)
    .map((c) => `  ${c.label}: ${PEERS.filter((p) => c.results[p]).map((p) => `${p} ${fmtNum(c.results[p]!.gelemPerSecond!)}`).join(', ')} Gelem/s`);
  return [
    table([header, ...rows]),
    'cells: throughput from the median wall time [from the fastest sample] x number of timed samples',
    'ratios: peer median time / ours (> 1: ours faster), from wall time and from process CPU time (steadier on a shared machine)',
    ...(elementwise.length ? ['elementwise throughput in elements:', ...elementwise] : []),
  ].join('\n');
}

export interface TargetJson {
  name: string;
  target: string;
  measured: string;
  met: boolean | null;
}

/** The issue's targets for the reference backend; null when the inputs were not measured. */
export function checkTargets(cases: readonly CaseJson[]): TargetJson[] {
  const get = (id: string) => cases.find((c) => c.id === id);
  const out: TargetJson[] = [];
  const cnn = get('cnn_step');
  const ours = cnn?.results.ours;
  out.push({ name: 'CNN training step', target: '>= 1 step/s', measured: ours ? `${fmtNum(ours.value)} steps/s` : 'not run', met: ours ? ours.value >= 1 : null });
  const r = cnn?.ratios['ours/tfjs-cpu'];
  out.push({ name: 'CNN step vs tfjs-cpu', target: '>= 20x', measured: r !== undefined ? `${fmtNum(r)}x` : 'not run', met: r !== undefined ? r >= 20 : null });
  const mm = get('matmul_1024')?.results.ours;
  out.push({ name: 'matmul 1024', target: '>= 2 GFLOP/s', measured: mm ? `${fmtNum(mm.value)} GFLOP/s` : 'not run', met: mm ? mm.value >= 2 : null });
  const add = get('add_4m')?.results.ours;
  out.push({ name: 'add 4M f32', target: '>= 4 GB/s', measured: add ? `${fmtNum(add.value)} GB/s` : 'not run', met: add ? add.value >= 4 : null });
  return out;
}

export function formatTargets(targets: readonly TargetJson[]): string {
  return targets.map((t) => `  ${t.met === null ? 'n/a ' : t.met ? 'MET ' : 'MISS'}  ${t.name}: ${t.measured} (target ${t.target})`).join('\n');
}

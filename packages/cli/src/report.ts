/**
 * Report files: per method `reports/<method>/results.json`, `report.md` and the plots (SVG + PNG);
 * and `reports/index.md`, rebuilt from every `reports/<method>/results.json`.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { ReproEntry, ReproOptions, ReproResult } from '@methodzoo/core';
import { writePlot, meanStd, type Plot } from './plot.js';
import { formatNumber } from './progress.js';
import { markdownTable } from './table.js';

export const RESULTS_SCHEMA = 1;

export interface PlotFile {
  kind: Plot['kind'];
  name: string;
  title: string;
  svg: string;
  png: string;
}

/** What `results.json` holds: enough to rebuild the report and the index without rerunning. */
export interface ResultsFile {
  schema: number;
  name: string;
  title: string;
  paper: ReproEntry['paper'];
  claim: string;
  status: 'ok' | 'failed';
  error?: string;
  claimHolds: boolean | null;
  claimSummary?: string;
  options: { quick: boolean; seed: number; seeds?: number[]; backend?: string };
  environment: { node: string; platform: string; backend?: string };
  startedAt: string;
  durationSeconds: number;
  table?: ReproResult['table'];
  metrics?: ReproResult['metrics'];
  notes?: string[];
  series?: ReproResult['series'];
  bars?: ReproResult['bars'];
  plots: PlotFile[];
}

export interface RunRecord {
  entry: ReproEntry;
  options: ReproOptions;
  startedAt: Date;
  durationSeconds: number;
  backend?: string;
  result?: ReproResult;
  error?: string;
}

/** The plots of a result, in report order: lines, bars, image grids. */
export function plotsOf(result: ReproResult): Plot[] {
  return [
    ...(result.series ?? []).map((plot) => ({ kind: 'line' as const, plot })),
    ...(result.bars ?? []).map((plot) => ({ kind: 'bar' as const, plot })),
    ...(result.images ?? []).map((plot) => ({ kind: 'images' as const, plot })),
  ];
}

/**
 * Writes `results.json`, `report.md` and the plots of one run into `dir`; returns the results file.
 */
export async function writeMethodReport(run: RunRecord, dir: string): Promise<ResultsFile> {
  mkdirSync(dir, { recursive: true });
  const plots: PlotFile[] = [];
  const names = new Set<string>();
  for (const p of run.result ? plotsOf(run.result) : []) {
    if (names.has(p.plot.name)) throw new Error(`${run.entry.name}: two plots are named '${p.plot.name}'`);
    names.add(p.plot.name);
    const files = await writePlot(p, dir);
    plots.push({ kind: p.kind, name: p.plot.name, title: p.plot.title, svg: relative(dir, files.svg), png: relative(dir, files.png) });
  }
  const { quick, seed, seeds, backend } = run.options;
  const r = run.result;
  const results: ResultsFile = {
    schema: RESULTS_SCHEMA,
    name: run.entry.name,
    title: run.entry.title,
    paper: run.entry.paper,
    claim: run.entry.claim,
    status: run.error === undefined ? 'ok' : 'failed',
    ...(run.error !== undefined ? { error: run.error } : {}),
    claimHolds: r?.claimHolds ?? null,
    ...(r?.claimSummary ? { claimSummary: r.claimSummary } : {}),
    options: { quick, seed, ...(seeds ? { seeds } : {}), ...(backend ? { backend } : {}) },
    environment: { node: process.version, platform: `${process.platform}-${process.arch}`, ...(run.backend ? { backend: run.backend } : {}) },
    startedAt: run.startedAt.toISOString(),
    durationSeconds: Math.round(run.durationSeconds * 10) / 10,
    ...(r ? { table: r.table, metrics: r.metrics, notes: r.notes ?? [], series: r.series ?? [], bars: r.bars ?? [] } : {}),
    plots,
  };
  writeFileSync(join(dir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(dir, 'report.md'), reportMarkdown(results));
  return results;
}

export function verdict(results: Pick<ResultsFile, 'status' | 'claimHolds'>): string {
  if (results.status === 'failed') return 'run failed';
  return results.claimHolds === true ? 'yes' : results.claimHolds === false ? 'no' : 'undecided';
}

function paperLine(paper: ReproEntry['paper']): string {
  const parts = [`*${paper.title}*`];
  if (paper.venue) parts.push(paper.venue);
  if (paper.arxiv) parts.push(`[arXiv:${paper.arxiv}](https://arxiv.org/abs/${paper.arxiv})`);
  return parts.join(', ');
}

function runLine(r: ResultsFile): string {
  const o = r.options;
  const seeds = o.seeds ? `seeds ${o.seeds.join(', ')}` : `seed ${o.seed}`;
  return `${o.quick ? 'quick' : 'full'} settings, ${seeds}, backend ${r.environment.backend ?? o.backend ?? 'default'}, ${r.durationSeconds} s, Node.js ${r.environment.node} on ${r.environment.platform}, ${r.startedAt}`;
}

/** A metric as text: a list of per-seed values becomes `mean ± std (n seeds)`. */
export function formatMetric(v: number | number[]): string {
  if (!Array.isArray(v)) return formatNumber(v);
  if (v.length === 0) return '';
  if (v.length === 1) return formatNumber(v[0]!);
  const { mean, std } = meanStd(v);
  return `${formatNumber(mean)} ± ${formatNumber(std)} (${v.length} seeds: ${v.map(formatNumber).join(', ')})`;
}

export function reportMarkdown(r: ResultsFile): string {
  const out: string[] = [`# ${r.title} (\`${r.name}\`)`, '', `Paper: ${paperLine(r.paper)}`, '', `**Claim.** ${r.claim}`, ''];
  if (r.status === 'failed') out.push(`**The run failed:** ${r.error ?? 'unknown error'}`, '');
  else out.push(`**Claim held: ${verdict(r)}.**${r.claimSummary ? ` ${r.claimSummary}` : ''}`, '');
  out.push(`Run: ${runLine(r)}.`, '');
  if (r.table) out.push('## Results', '', markdownTable(r.table), '');
  const metrics = Object.entries(r.metrics ?? {});
  if (metrics.length) out.push('## Metrics', '', markdownTable({ columns: ['metric', 'value'], rows: metrics.map(([k, v]) => [k, formatMetric(v)]) }), '');
  if (r.plots.length) {
    out.push('## Plots', '');
    for (const p of r.plots) out.push(`![${p.title}](${p.svg})`, '', `${p.title} ([SVG](${p.svg}), [PNG](${p.png}))`, '');
  }
  if (r.notes?.length) out.push('## Notes', '', ...r.notes.map((n) => `- ${n}`), '');
  return `${out.join('\n').trimEnd()}\n`;
}

/** Every `<dir>/<method>/results.json` under `reportsDir`, sorted by method name. */
export function readAllResults(reportsDir: string): { results: ResultsFile[]; problems: string[] } {
  const results: ResultsFile[] = [];
  const problems: string[] = [];
  if (!existsSync(reportsDir)) return { results, problems };
  for (const d of readdirSync(reportsDir, { withFileTypes: true }).filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const file = join(reportsDir, d.name, 'results.json');
    if (!existsSync(file)) continue;
    try {
      const r = JSON.parse(readFileSync(file, 'utf8')) as ResultsFile;
      if (r.schema !== RESULTS_SCHEMA || typeof r.name !== 'string') throw new Error(`schema ${String(r.schema)} is not ${RESULTS_SCHEMA}`);
      results.push(r);
    } catch (e) {
      problems.push(`${relative(reportsDir, file)}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return { results, problems };
}

/** `reports/index.md`: one row per method with its claim, whether it held and a link to its report. */
export function indexMarkdown(results: ResultsFile[]): string {
  const out = [
    '# Reproductions',
    '',
    'Each method checks its paper\'s claim at laptop scale (`methodzoo repro <method>`); this index is rebuilt by `methodzoo report` from every `<method>/results.json`.',
    '',
  ];
  if (results.length === 0) out.push('No results yet: run `methodzoo repro --all --quick`.');
  else {
    const rows = results.map((r) => [
      `[${r.name}](${r.name}/report.md)`,
      `${r.paper.title}${r.paper.arxiv ? ` ([arXiv:${r.paper.arxiv}](https://arxiv.org/abs/${r.paper.arxiv}))` : ''}`,
      r.claim,
      verdict(r),
      r.status === 'failed' ? (r.error ?? '') : (r.claimSummary ?? ''),
      `${r.options.quick ? 'quick' : 'full'}, ${r.durationSeconds} s, ${r.startedAt.slice(0, 10)}`,
    ]);
    out.push(markdownTable({ columns: ['method', 'paper', 'claim', 'held', 'evidence', 'run'], rows }));
    const held = results.filter((r) => r.status === 'ok' && r.claimHolds === true).length;
    out.push('', `${held} of ${results.length} claims held.`);
  }
  return `${out.join('\n')}\n`;
}

/** Rebuilds `<reportsDir>/index.md`; returns its path, the results read and any unreadable files. */
export function writeIndex(reportsDir: string): { path: string; results: ResultsFile[]; problems: string[] } {
  const { results, problems } = readAllResults(reportsDir);
  mkdirSync(reportsDir, { recursive: true });
  const path = join(reportsDir, 'index.md');
  writeFileSync(path, indexMarkdown(results));
  return { path, results, problems };
}

/**
 * Runs the reproduction without the CLI: `pnpm repro` (quick settings), `pnpm repro -- --medium`
 * (the README's run) or `pnpm repro -- --full`; `--seeds 0,1` overrides the setting's seeds,
 * `--json FILE` writes the table and metrics, `--backbone unet|uvit` runs one backbone only.
 * `methodzoo repro scalelong` runs the same entry with progress bars, plots and a report.
 */
import { writeFileSync } from 'node:fs';
import type { ProgressReporter } from '@methodzoo/core';
import { repro, runSetting, SETTINGS } from '../src/repro.js';

const mode = process.argv.includes('--full') ? 'full' : process.argv.includes('--medium') ? 'medium' : 'quick';
const si = process.argv.indexOf('--seeds');
const seeds = si >= 0 ? process.argv[si + 1]!.split(',').map(Number) : undefined;
const ji = process.argv.indexOf('--json');
// --backbone unet|uvit runs one backbone of the setting (to spread a long run over two processes)
const bi = process.argv.indexOf('--backbone');
const setting = bi < 0 ? SETTINGS[mode] : { ...SETTINGS[mode], backbones: SETTINGS[mode].backbones.filter((c) => (c.backbone ?? 'unet') === process.argv[bi + 1]) };
const started = Date.now();
const progress: ProgressReporter = {
  task(name, total) {
    let n = 0;
    return {
      tick(k = 1) {
        n += k;
      },
      done() {
        console.log(`${name}: ${n}/${total} steps`);
      },
    };
  },
  log: (message) => console.log(message),
};

const result = await runSetting(setting, { quick: mode === 'quick', seed: 0, seeds, outDir: 'reports/scalelong' }, progress);
const widths = result.table.columns.map((c, i) => Math.max(c.length, ...result.table.rows.map((r) => String(r[i] ?? '').length)));
const line = (cells: (string | number | null)[]) => cells.map((c, i) => String(c ?? '').padEnd(widths[i]!)).join('  ');
console.log(`\n${repro.title}: ${repro.claim}\n`);
console.log(line(result.table.columns));
for (const row of result.table.rows) console.log(line(row));
console.log(`\nclaim holds: ${result.claimHolds} (${result.claimSummary})`);
console.log(`${mode} setting: ${((Date.now() - started) / 1000).toFixed(0)} s wall, ${(process.cpuUsage().user / 1e6).toFixed(0)} s CPU; ${Object.entries(result.metrics).filter(([k]) => k.endsWith('seconds')).map(([k, v]) => `${k} ${Number(v).toFixed(0)}`).join(', ')}`);
if (ji >= 0) writeFileSync(process.argv[ji + 1]!, `${JSON.stringify({ mode, table: result.table, metrics: result.metrics, claimHolds: result.claimHolds, claimSummary: result.claimSummary }, null, 1)}\n`);

/**
 * Runs the reproduction without the CLI: `pnpm repro` (quick settings), `pnpm repro -- --full`
 * (3 seeds, both systems, 100/50/25/10% data) or `pnpm repro -- --medium` (one seed, hidden 256,
 * batch 1024, 100 epochs: closer to the spec's recipe). `methodzoo repro attsolver` runs the quick or
 * full entry with progress bars, plots and a report.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProgressReporter } from '@methodzoo/core';
import { FULL, MEDIUM, QUICK, repro, runRepro } from '../src/repro.js';

const settings = process.argv.includes('--medium') ? MEDIUM : process.argv.includes('--full') ? FULL : QUICK;
const seeds = settings === MEDIUM ? [0] : [0, 1, 2];
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

const t0 = performance.now();
const result = await runRepro(settings, seeds, progress);
console.log(`${settings.name} run: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
const widths = result.table.columns.map((c, i) => Math.max(c.length, ...result.table.rows.map((r) => String(r[i] ?? '').length)));
const line = (cells: (string | number | null)[]) => cells.map((c, i) => String(c ?? '').padEnd(widths[i]!)).join('  ');
console.log(`\n${repro.title}: ${repro.claim}\n`);
console.log(line(result.table.columns));
for (const row of result.table.rows) console.log(line(row));
console.log(`\nclaim holds: ${result.claimHolds} (${result.claimSummary})`);
for (const note of result.notes ?? []) console.log(`- ${note}`);

// The numbers the README quotes: table, metrics, notes and the plotted series, as JSON
const out = resolve(dirname(fileURLToPath(import.meta.url)), `results/${settings.name}.json`);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(result, null, 1) + '\n');
console.log(`wrote ${out}`);

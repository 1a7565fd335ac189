/**
 * Runs the reproduction without the CLI: `pnpm repro` (quick settings) or `pnpm repro -- --full`.
 * `methodzoo repro asr` runs the same entry with progress bars, plots and a report.
 */
import type { ProgressReporter } from '@methodzoo/core';
import { repro } from '../src/repro.js';

const full = process.argv.includes('--full');
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

const result = await repro.run({ quick: !full, seed: 0, seeds: full ? [0, 1, 2] : undefined, outDir: `reports/asr` }, progress);
const widths = result.table.columns.map((c, i) => Math.max(c.length, ...result.table.rows.map((r) => String(r[i] ?? '').length)));
const line = (cells: (string | number | null)[]) => cells.map((c, i) => String(c ?? '').padEnd(widths[i]!)).join('  ');
console.log(`\n${repro.title}: ${repro.claim}\n`);
console.log(line(result.table.columns));
for (const row of result.table.rows) console.log(line(row));
console.log(`\nclaim holds: ${result.claimHolds} (${result.claimSummary})`);
console.log('\nmetrics:');
for (const [name, value] of Object.entries(result.metrics)) console.log(`  ${name}: ${Array.isArray(value) ? value.map((v) => Number(v.toPrecision(6))).join(', ') : Number(value.toPrecision(6))}`);

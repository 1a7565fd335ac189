/** Results tables as aligned text (stdout) and as Markdown (reports). */
import type { ReproTable } from '@methodzoo/core';
import { formatNumber } from './progress.js';

export function formatCell(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  return typeof v === 'number' ? formatNumber(v) : v;
}

function cells(table: ReproTable): string[][] {
  return table.rows.map((row, i) => {
    if (row.length !== table.columns.length) throw new Error(`table row ${i} has ${row.length} cells but there are ${table.columns.length} columns (${table.columns.join(', ')})`);
    return row.map(formatCell);
  });
}

/** Columns padded to their widest cell, numbers right-aligned, a rule under the header. */
export function textTable(table: ReproTable): string {
  const body = cells(table);
  const widths = table.columns.map((c, j) => Math.max(c.length, ...body.map((r) => r[j]!.length)));
  const numeric = table.columns.map((_, j) => table.rows.length > 0 && table.rows.every((r) => typeof r[j] === 'number' || r[j] === null));
  const line = (r: string[]) =>
    r
      .map((c, j) => (numeric[j] ? c.padStart(widths[j]!) : c.padEnd(widths[j]!)))
      .join('  ')
      .trimEnd();
  return [line(table.columns), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

function escapeMd(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

export function markdownTable(table: ReproTable): string {
  const body = cells(table);
  const numeric = table.columns.map((_, j) => table.rows.length > 0 && table.rows.every((r) => typeof r[j] === 'number' || r[j] === null));
  return [
    `| ${table.columns.map(escapeMd).join(' | ')} |`,
    `| ${numeric.map((n) => (n ? '---:' : '---')).join(' | ')} |`,
    ...body.map((r) => `| ${r.map(escapeMd).join(' | ')} |`),
  ].join('\n');
}

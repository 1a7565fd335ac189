#!/usr/bin/env node
/**
 * Totals over every workspace project's Vitest JSON report (`<project>/.test-results/results.json`,
 * written by the json reporter configured in vitest.shared.ts and declared as the Nx `test` output,
 * so cached runs restore it). Prints a line per project, the failing tests, and last, on a line of
 * its own: `N passed, N failed` (plus `, N skipped` when some were).
 *
 * A project with a `test` script but no report counts one failure: its run crashed or never ran.
 * A test file that failed outside any test (an import error, an error in a hook) counts one failure.
 *
 * Usage: node tools/test-summary.mjs            print the totals; exit 1 if anything failed
 *        node tools/test-summary.mjs --clean    delete the reports first (run before the tests, so a
 *                                               report from an earlier run is never counted)
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { workspacePackages, WORKSPACE_ROOT } from './pack-smoke/pack-smoke.mjs';

export const REPORT = '.test-results/results.json';

// Vitest reports absolute paths; relative ones read better and do not depend on the checkout.
const rel = (p) => (isAbsolute(p) ? relative(WORKSPACE_ROOT, p) : p);

/** Counts from one Vitest JSON report. */
export function countReport(report) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const failures = [];
  for (const file of report.testResults ?? []) {
    let fileFailed = 0;
    for (const t of file.assertionResults ?? []) {
      if (t.status === 'passed') passed++;
      else if (t.status === 'failed') {
        failed++;
        fileFailed++;
        failures.push(`${rel(file.name)} > ${t.fullName ?? t.title}`);
      } else skipped++; // skipped, pending, todo, disabled
    }
    if (file.status === 'failed' && fileFailed === 0) {
      failed++;
      const why = (file.message ?? '').split('\n')[0] || 'failed outside any test';
      failures.push(`${rel(file.name)}: ${why}`);
    }
  }
  // Unhandled errors fail the run without failing a test or a file.
  if (report.success === false && failed === 0) {
    failed++;
    failures.push('the run failed outside any test file (an unhandled error)');
  }
  return { passed, failed, skipped, files: (report.testResults ?? []).length, failures };
}

/** One entry per project with a `test` script: its counts, or why it has none. */
export function collect(root = WORKSPACE_ROOT) {
  return workspacePackages(root)
    .filter((p) => p.manifest.scripts?.test)
    .map((p) => {
      const name = p.manifest.nx?.name ?? p.name;
      const file = resolve(p.dir, REPORT);
      if (!existsSync(file)) {
        return { name, passed: 0, failed: 1, skipped: 0, files: 0, failures: [`${name}: no ${relative(root, file)} (its test run crashed, or did not run because a task it depends on failed)`] };
      }
      try {
        return { name, ...countReport(JSON.parse(readFileSync(file, 'utf8'))) };
      } catch (e) {
        return { name, passed: 0, failed: 1, skipped: 0, files: 0, failures: [`${name}: unreadable ${relative(root, file)}: ${e.message}`] };
      }
    });
}

/** The totals line. */
export function totalsLine({ passed, failed, skipped }) {
  return `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`;
}

export function summarise(projects) {
  const total = { passed: 0, failed: 0, skipped: 0 };
  const lines = [];
  for (const p of projects) {
    total.passed += p.passed;
    total.failed += p.failed;
    total.skipped += p.skipped;
    lines.push(`  ${p.name}: ${totalsLine(p)} in ${p.files} file${p.files === 1 ? '' : 's'}`);
  }
  const failures = projects.flatMap((p) => p.failures);
  if (failures.length) {
    lines.push('Failed:');
    for (const f of failures.slice(0, 50)) lines.push(`  ${f}`);
    if (failures.length > 50) lines.push(`  ... and ${failures.length - 50} more`);
  }
  return { total, text: ['Test summary:', ...lines, totalsLine(total)].join('\n') };
}

function main(argv) {
  if (argv.includes('--clean')) {
    for (const p of workspacePackages()) rmSync(resolve(p.dir, '.test-results'), { recursive: true, force: true });
    return 0;
  }
  const { total, text } = summarise(collect());
  console.log(`\n${text}`);
  return total.failed > 0 ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}

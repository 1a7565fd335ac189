import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collect, countReport, summarise, totalsLine } from '../test-summary.mjs';

const test = (fullName: string, status: string) => ({ title: fullName, fullName, status, failureMessages: [] });

describe('countReport', () => {
  it('counts passed, failed and skipped tests across files', () => {
    const r = countReport({
      success: false,
      testResults: [
        { name: 'a.test.ts', status: 'failed', assertionResults: [test('a adds', 'passed'), test('a fails', 'failed'), test('a later', 'skipped')] },
        { name: 'b.test.ts', status: 'passed', assertionResults: [test('b one', 'passed'), test('b two', 'passed'), test('b todo', 'todo')] },
      ],
    });
    expect(r).toMatchObject({ passed: 3, failed: 1, skipped: 2, files: 2 });
    expect(r.failures).toEqual(['a.test.ts > a fails']);
  });

  it('counts a file that failed outside any test (an import error) as one failure', () => {
    const r = countReport({
      success: false,
      testResults: [{ name: 'broken.test.ts', status: 'failed', message: "Failed to load url ./missing.js\n  at ...", assertionResults: [] }],
    });
    expect(r).toMatchObject({ passed: 0, failed: 1, skipped: 0 });
    expect(r.failures).toEqual(['broken.test.ts: Failed to load url ./missing.js']);
  });

  it('counts an unhandled error that failed the run with every test passing', () => {
    const r = countReport({ success: false, testResults: [{ name: 'a.test.ts', status: 'passed', assertionResults: [test('ok', 'passed')] }] });
    expect(r).toMatchObject({ passed: 1, failed: 1 });
  });
});

describe('totalsLine', () => {
  it('mentions skipped tests only when there are some', () => {
    expect(totalsLine({ passed: 12, failed: 0, skipped: 0 })).toBe('12 passed, 0 failed');
    expect(totalsLine({ passed: 12, failed: 3, skipped: 2 })).toBe('12 passed, 3 failed, 2 skipped');
  });
});

describe('collect and summarise', () => {
  it('reads each project report, counts a missing report as a failure and ends with the totals line', () => {
    const root = mkdtempSync(join(tmpdir(), 'test-summary-'));
    try {
      writeFileSync(join(root, 'pnpm-workspace.yaml'), 'packages:\n  - packages/*\n  - tools\n');
      const pkg = (dir: string, manifest: object) => {
        mkdirSync(join(root, dir), { recursive: true });
        writeFileSync(join(root, dir, 'package.json'), JSON.stringify(manifest));
      };
      pkg('packages/a', { name: '@x/a', scripts: { test: 'vitest run' } });
      pkg('packages/b', { name: '@x/b', scripts: { test: 'vitest run' } });
      pkg('packages/c', { name: '@x/c', scripts: {} });
      pkg('tools', { name: '@x/tools', private: true, nx: { name: 'tools' }, scripts: { test: 'vitest run' } });
      mkdirSync(join(root, 'packages/a/.test-results'));
      writeFileSync(
        join(root, 'packages/a/.test-results/results.json'),
        JSON.stringify({ success: true, testResults: [{ name: 'a.test.ts', status: 'passed', assertionResults: [test('x', 'passed'), test('y', 'passed')] }] }),
      );
      mkdirSync(join(root, 'tools/.test-results'));
      writeFileSync(
        join(root, 'tools/.test-results/results.json'),
        JSON.stringify({ success: true, testResults: [{ name: 't.test.ts', status: 'passed', assertionResults: [test('z', 'passed'), test('s', 'skipped')] }] }),
      );

      const projects = collect(root);
      expect(projects.map((p) => p.name).sort()).toEqual(['@x/a', '@x/b', 'tools']);
      const { total, text } = summarise(projects);
      expect(total).toEqual({ passed: 3, failed: 1, skipped: 1 });
      const lines = text.split('\n');
      expect(lines[lines.length - 1]).toBe('3 passed, 1 failed, 1 skipped');
      expect(text).toContain('@x/b: no packages/b/.test-results/results.json');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

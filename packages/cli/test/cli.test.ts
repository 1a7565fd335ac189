import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli.js';
import type { MethodSource } from '../src/methods.js';
import { PNG_SIGNATURE, pngSize } from '../src/plot.js';
import type { ResultsFile } from '../src/report.js';
import { collector, fakeEntry, fakeMethods, tempDir } from './helpers.js';

async function run(argv: string[], methods: MethodSource[] = fakeMethods, cwd = tempDir()) {
  const stdout = collector();
  const stderr = collector();
  const code = await main(argv, { methods, stdout, stderr, cwd, tty: false });
  return { code, out: stdout.text(), err: stderr.text(), cwd };
}

describe('methodzoo repro', () => {
  it('runs a method end to end: table on stdout, progress lines, results.json, report.md, SVG and PNG plots, index', async () => {
    const { code, out, err, cwd } = await run(['repro', 'fake', '--seeds', '0,1,2', '--out', 'out']);
    expect(err).not.toMatch(/failed/);
    expect(code).toBe(0);
    const dir = join(cwd, 'out', 'fake');

    // stdout: header, the method's table (numbers formatted), the verdict, the summary
    expect(out).toContain('== fake: Fake method');
    expect(out).toMatch(/seed\s+method loss\s+baseline loss/);
    expect(out).toMatch(/^\s+2\s+0\.22\s+0\.72$/m);
    expect(out).toContain('claim held: yes (final loss 0.2 vs baseline 0.7 (seed 0).)');
    expect(out).toMatch(/^fake\s+ok\s+yes\s+[\d.]+\s+out\/fake\/report\.md$/m);

    // progress, plain lines (not a terminal): tenths of each task, then done
    expect(err).toContain('[fake] seed 0: 1/10 (10%) loss 2 ');
    expect(err).toMatch(/\[fake\] seed 2: done 10\/10 in \d+\.\d s/);
    expect(err).toContain('[fake] fake training finished');

    const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as ResultsFile;
    expect(results).toMatchObject({
      schema: 1,
      name: 'fake',
      status: 'ok',
      claimHolds: true,
      paper: { arxiv: '2401.00001' },
      options: { quick: false, seed: 0, seeds: [0, 1, 2] },
      metrics: { steps: 10 },
      notes: ['closed-form curves, no training'],
    });
    expect((results.metrics!['final loss'] as number[]).map((v) => v.toFixed(6))).toEqual(['0.200000', '0.210000', '0.220000']);
    expect(results.environment.backend).toBe('reference');
    expect(results.plots.map((p) => [p.kind, p.svg, p.png])).toEqual([
      ['line', 'loss.svg', 'loss.png'],
      ['bar', 'final.svg', 'final.png'],
      ['images', 'samples.svg', 'samples.png'],
    ]);

    const report = readFileSync(join(dir, 'report.md'), 'utf8');
    expect(report).toContain('# Fake method (`fake`)');
    expect(report).toContain('**Claim.** the method reaches lower loss than the baseline');
    expect(report).toContain('**Claim held: yes.**');
    expect(report).toContain('[arXiv:2401.00001](https://arxiv.org/abs/2401.00001)');
    expect(report).toContain('| seed | method loss | baseline loss |');
    expect(report).toContain('| 1 | 0.21 | 0.71 |');
    expect(report).toContain('| final loss | 0.21 ± 0.01 (3 seeds: 0.2, 0.21, 0.22) |');
    expect(report).toContain('![Fake loss curves](loss.svg)');
    expect(report).toContain('- closed-form curves, no training');

    const parser = new XMLParser({ ignoreAttributes: false });
    const axisTitles: Record<string, string[]> = { loss: ['training step (steps)', 'loss (nats)', 'seed 2'], final: ['final loss (nats)', 'baseline', 'target 0.5'], samples: ['sample 2'] };
    for (const [name, titles] of Object.entries(axisTitles)) {
      const svg = readFileSync(join(dir, `${name}.svg`), 'utf8');
      expect(XMLValidator.validate(svg), name).toBe(true);
      expect(parser.parse(svg).svg, name).toBeDefined();
      for (const t of titles) expect(svg, `${name}.svg has '${t}'`).toContain(`>${t}<`);
      const png = new Uint8Array(readFileSync(join(dir, `${name}.png`)));
      expect([...png.subarray(0, 8)]).toEqual([...PNG_SIGNATURE]);
      const { width, height } = pngSize(png);
      expect(width, name).toBeGreaterThan(300);
      expect(width, name).toBeLessThan(3000);
      expect(height, name).toBeGreaterThan(150);
      expect(height, name).toBeLessThan(3000);
    }
    // the image grid embeds the images it was given (as PNG data URLs)
    expect(readFileSync(join(dir, 'samples.svg'), 'utf8').match(/data:image\/png;base64/g)).toHaveLength(3);

    expect(readFileSync(join(dir, 'curves.csv'), 'utf8').split('\n')).toHaveLength(3);
    const index = readFileSync(join(cwd, 'out', 'index.md'), 'utf8');
    expect(index).toContain('| [fake](fake/report.md) |');
    expect(index).toContain('1 of 1 claims held.');
  });

  it('exits 2 with the known methods for an unknown method, before running anything', async () => {
    const { code, err, out, cwd } = await run(['repro', 'fake', 'nope']);
    expect(code).toBe(2);
    expect(err).toContain("methodzoo: unknown method 'nope'; known methods: fake, ghost");
    expect(out).toBe('');
    expect(existsSync(join(cwd, 'reports'))).toBe(false);
  });

  it('rejects bad arguments with exit 2', async () => {
    expect((await run(['repro'])).err).toContain('name a method or pass --all; known methods: fake, ghost');
    expect((await run(['repro', '--all', 'fake'])).code).toBe(2);
    const seeds = await run(['repro', 'fake', '--seeds', '0,x']);
    expect([seeds.code, seeds.err]).toEqual([2, "methodzoo: --seeds expects integers, got 'x'\n"]);
    const flag = await run(['repro', 'fake', '--frobnicate']);
    expect(flag.code).toBe(2);
    expect(flag.err).toContain('--frobnicate');
    const backend = await run(['repro', 'fake', '--backend', 'nosuch']);
    expect(backend.code).toBe(2);
    expect(backend.err).toContain("backend 'nosuch' is not registered");
    expect((await run(['frobnicate'])).code).toBe(2);
    expect((await run([])).code).toBe(2);
  });

  it('skips a method whose package is absent under --all, and fails when it is named', async () => {
    const all = await run(['repro', '--all']);
    expect(all.code).toBe(0);
    expect(all.err).toContain('skipped ghost: package @methodzoo/ghost-package-that-does-not-exist is not installed');
    expect(all.out).toMatch(/^ghost\s+skipped/m);
    expect(existsSync(join(all.cwd, 'reports', 'fake', 'results.json'))).toBe(true);

    const named = await run(['repro', 'ghost']);
    expect(named.code).toBe(1);
    expect(named.err).toContain('failed ghost: package @methodzoo/ghost-package-that-does-not-exist is not installed');
  });

  it('records a method that throws as a failed run, and goes on with the others', async () => {
    const broken: MethodSource = {
      name: 'broken',
      load: async () => ({ repro: { ...fakeEntry, name: 'broken', run: async () => Promise.reject(new Error('diverged at step 3')) } }),
    };
    const { code, err, out, cwd } = await run(['repro', 'broken', 'fake', '--quick'], [broken, ...fakeMethods]);
    expect(code).toBe(1);
    expect(err).toContain('broken failed: Error: diverged at step 3');
    expect(out).toMatch(/^broken\s+failed\s+run failed/m);
    expect(out).toMatch(/^fake\s+ok\s+yes/m);
    const results = JSON.parse(readFileSync(join(cwd, 'reports', 'broken', 'results.json'), 'utf8')) as ResultsFile;
    expect(results).toMatchObject({ status: 'failed', error: 'diverged at step 3', claimHolds: null, plots: [] });
    expect(readFileSync(join(cwd, 'reports', 'broken', 'report.md'), 'utf8')).toContain('**The run failed:** diverged at step 3');
    expect(readFileSync(join(cwd, 'reports', 'index.md'), 'utf8')).toContain('1 of 2 claims held.');
  });

  it('fails a run whose result the report cannot show', async () => {
    const bad: MethodSource = {
      name: 'bad',
      load: async () => ({
        repro: { ...fakeEntry, name: 'bad', run: async () => ({ table: { columns: ['a'], rows: [] }, metrics: {}, series: [{ name: 'l', title: 't', x: { label: 'x' }, y: { label: 'y', log: true }, series: [{ name: 's', x: [1, 2], y: [1, 0] }] }] }) },
      }),
    };
    const { code, err } = await run(['repro', 'bad'], [bad]);
    expect(code).toBe(1);
    expect(err).toContain("bad: writing the report failed: plot 'l' series 's' y: a log axis needs positive values, got 0");
  });
});

describe('methodzoo list', () => {
  it('shows each method with its status, paper and claim', async () => {
    const wrong: MethodSource = { name: 'wrong', load: async () => ({ repro: { name: 'wrong', title: 'x' } }) };
    const { code, out } = await run(['list'], [...fakeMethods, wrong]);
    expect(code).toBe(0);
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^method\s+status\s+paper\s+claim$/);
    expect(lines[2]).toMatch(/^fake\s+ready\s+A paper about nothing\s+the method reaches lower loss than the baseline$/);
    expect(lines[3]).toMatch(/^ghost\s+not installed\s+package @methodzoo\/ghost-package-that-does-not-exist is not installed$/);
    expect(lines[4]).toMatch(/^wrong\s+load error\s+.*the repro entry lacks claim, paper\.title, run\(\)$/);
  });
});

describe('methodzoo report', () => {
  it('rebuilds index.md from every results.json, and names the unreadable ones', async () => {
    const first = await run(['repro', 'fake', '--out', 'r']);
    expect(first.code).toBe(0);
    const dir = join(first.cwd, 'r');
    // a second method's results, and a corrupt one
    const other = JSON.parse(readFileSync(join(dir, 'fake', 'results.json'), 'utf8')) as ResultsFile;
    mkdirSync(join(dir, 'another'));
    writeFileSync(join(dir, 'another', 'results.json'), JSON.stringify({ ...other, name: 'another', claim: 'it | works', claimHolds: false, claimSummary: 'no gain.' }));
    writeFileSync(join(dir, 'index.md'), 'stale');

    const ok = await run(['report', '--out', 'r'], fakeMethods, first.cwd);
    expect(ok.code).toBe(0);
    expect(ok.out).toBe('r/index.md: 2 methods (another: no, fake: yes)\n');
    const index = readFileSync(join(dir, 'index.md'), 'utf8');
    const rows = index.split('\n').filter((l) => l.startsWith('| ['));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toContain('| [another](another/report.md) | A paper about nothing ([arXiv:2401.00001](https://arxiv.org/abs/2401.00001)) | it \\| works | no | no gain. |');
    expect(rows[1]).toContain('| [fake](fake/report.md) |');
    expect(index).toContain('1 of 2 claims held.');

    mkdirSync(join(dir, 'corrupt'));
    writeFileSync(join(dir, 'corrupt', 'results.json'), '{ not json');
    const bad = await run(['report', '--out', 'r'], fakeMethods, first.cwd);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/skipped corrupt\/results\.json: .*JSON/);
    expect(readFileSync(join(dir, 'index.md'), 'utf8')).toContain('1 of 2 claims held.');
  });
});

describe('methodzoo bench', () => {
  it("runs a workspace package's bench script, and lists the packages that have one otherwise", async () => {
    const root = tempDir();
    writeFileSync(join(root, 'pnpm-workspace.yaml'), 'packages:\n  - packages/*\n');
    for (const [dir, scripts] of [
      ['foo', { bench: 'node -e "console.log(\'bench of foo ran\')"' }],
      ['bar', {}],
    ] as const) {
      mkdirSync(join(root, 'packages', dir), { recursive: true });
      writeFileSync(join(root, 'packages', dir, 'package.json'), JSON.stringify({ name: `@methodzoo/${dir}`, private: true, scripts }));
    }
    const ok = await run(['bench', 'foo'], fakeMethods, join(root, 'packages', 'bar'));
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('bench of foo ran');
    const none = await run(['bench', 'bar'], fakeMethods, root);
    expect([none.code, none.err]).toEqual([2, 'methodzoo: @methodzoo/bar has no bench script; packages with benchmarks: foo\n']);
    expect((await run(['bench', 'baz'], fakeMethods, root)).err).toContain("unknown package 'baz'; packages with benchmarks: foo");
    expect((await run(['bench'], fakeMethods, tempDir())).err).toContain('no pnpm-workspace.yaml at or above');
  });
});

describe('bin/methodzoo.mjs', () => {
  const bin = fileURLToPath(new URL('../bin/methodzoo.mjs', import.meta.url));

  it('lists the built-in mnist-cnn method from source, and exits 2 for an unknown method', () => {
    const out = execFileSync(process.execPath, [bin, 'list'], { encoding: 'utf8' });
    expect(out).toMatch(/^mnist-cnn\s+ready\s+.*reaches >= 90% test accuracy in one epoch on the reference backend$/m);
    expect(out).toMatch(/^stepnet\s+(ready|not installed)/m);
    const r = spawnSync(process.execPath, [bin, 'repro', 'no-such-method'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown method 'no-such-method'; known methods: mnist-cnn, ");
  });
});

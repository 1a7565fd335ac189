import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createMethod } from '../create-method/create-method.mjs';
import { checkTarball, extractReadmeExample, WORKSPACE_ROOT } from '../pack-smoke/pack-smoke.mjs';

// Generates a package into a temp copy of the workspace's frame (base tsconfig, shared vitest
// config, core and node_modules linked from this checkout), then type-checks it, runs its tests
// (vitest resolves core's source) and builds it, as `pnpm install` + `nx run <name>:typecheck test build` would after generating.
const root = mkdtempSync(join(tmpdir(), 'create-method-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
for (const f of ['tsconfig.base.json', 'vitest.shared.ts', 'pnpm-workspace.yaml', 'package.json']) copyFileSync(join(WORKSPACE_ROOT, f), join(root, f));
mkdirSync(join(root, 'packages'));
mkdirSync(join(root, '.changeset'));
symlinkSync(join(WORKSPACE_ROOT, 'packages/core'), join(root, 'packages/core'), 'dir');
symlinkSync(join(WORKSPACE_ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');

const bin = (name: string) => join(WORKSPACE_ROOT, 'node_modules/.bin', name);
const run = (cmd: string, args: string[], cwd: string) => spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 240_000, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } });

describe('create-method', () => {
  const name = 'toy-method';
  const dir = join(root, 'packages', name);

  it('refuses bad names and existing folders', () => {
    expect(() => createMethod('Bad_Name', { root })).toThrow(/not a valid package folder name/);
    expect(() => createMethod('core', { root })).toThrow(/packages\/core already exists/);
  });

  it('scaffolds the conventions: exports map with the source condition, publishConfig, Nx name, files', () => {
    const written = createMethod(name, { root, title: 'A Toy Paper', arxiv: '2401.00001' });
    const rel = written.map((p) => p.slice(root.length + 1)).sort();
    for (const f of ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'vitest.config.ts', 'README.md', 'CHANGELOG.md', 'LICENSE', 'src/index.ts', 'src/method.ts', 'src/repro.ts', `test/${name}.test.ts`, 'test/repro.test.ts', `bench/${name}.bench.ts`, 'repro/run.ts']) {
      expect(rel).toContain(`packages/${name}/${f}`);
    }
    expect(rel).toContain(`.changeset/${name}-initial.md`);
    const m = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    expect(m.name).toBe(`@methodzoo/${name}`);
    expect(m.version).toBe('0.0.0');
    expect(m.nx).toEqual({ name });
    expect(Object.keys(m.exports)).toEqual(['.', './repro', './package.json']);
    expect(Object.keys(m.exports['.'])).toEqual(['methodzoo-source', 'types', 'default']);
    expect(m.exports['./repro']['methodzoo-source']).toBe('./src/repro.ts');
    expect(Object.keys(m.publishConfig.exports['./repro'])).toEqual(['types', 'default']);
    expect(m.dependencies).toEqual({ '@methodzoo/core': 'workspace:^' });
    expect(Object.keys(m.scripts).sort()).toEqual(['bench', 'build', 'repro', 'test', 'typecheck']);
    expect(readFileSync(join(root, `.changeset/${name}-initial.md`), 'utf8')).toMatch(/^---\n'@methodzoo\/toy-method': minor\n---/);
    expect(extractReadmeExample(readFileSync(join(dir, 'README.md'), 'utf8')).expected).toEqual(['2, 4, 6', '1, 2, 3']);
    expect(readFileSync(join(dir, 'LICENSE'), 'utf8')).toBe(readFileSync(join(WORKSPACE_ROOT, 'packages/core/LICENSE'), 'utf8'));
  });

  it('type-checks, passes its own tests, and builds the exports it declares', () => {
    // What pnpm install would link.
    mkdirSync(join(dir, 'node_modules/@methodzoo'), { recursive: true });
    symlinkSync(join(WORKSPACE_ROOT, 'packages/core'), join(dir, 'node_modules/@methodzoo/core'), 'dir');

    // Against core's built types (dist/, which Nx's ^build of tools:test provides), so the check
    // covers the new package without re-checking all of core's source.
    if (!existsSync(join(WORKSPACE_ROOT, 'packages/core/dist/index.d.ts'))) {
      expect(run(bin('tsc'), ['-p', 'tsconfig.build.json'], join(WORKSPACE_ROOT, 'packages/core')).status).toBe(0);
    }
    writeFileSync(join(dir, 'tsconfig.dist-core.json'), JSON.stringify({ extends: './tsconfig.json', compilerOptions: { customConditions: [] } }));
    const tsc = run(bin('tsc'), ['-p', 'tsconfig.dist-core.json', '--noEmit'], dir);
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);

    const vitest = run(bin('vitest'), ['run', '--reporter=default'], dir);
    expect(vitest.status, vitest.stdout + vitest.stderr).toBe(0);
    expect(vitest.stdout).toMatch(/Tests\s+7 passed \(7\)/);

    const build = run(bin('tsc'), ['-p', 'tsconfig.build.json'], dir);
    expect(build.stdout + build.stderr).toBe('');
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/repro.js', 'dist/repro.d.ts']) expect(existsSync(join(dir, f))).toBe(true);
    // The packed manifest would pass pack-smoke's checks (types first, targets present).
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const entries = new Map<string, Buffer>([['package/package.json', Buffer.from(JSON.stringify({ ...manifest, exports: manifest.publishConfig.exports, dependencies: { '@methodzoo/core': '^0.1.0' } }))]]);
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/repro.js', 'dist/repro.d.ts', 'README.md']) entries.set(`package/${f}`, Buffer.from(''));
    expect(checkTarball(entries)).toEqual([]);
  });
});

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { attwTarball, lintTarball, publintTarball } from '../publint-attw/publint-attw.mjs';

// Small packages packed with npm, so the linters are shown to catch what they are run for.
const work = mkdtempSync(join(tmpdir(), 'publint-attw-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function packFixture(name: string, manifest: Record<string, unknown>, files: Record<string, string>): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', license: 'MIT', ...manifest }, null, 2));
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  const out = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: dir, encoding: 'utf8' });
  return join(work, out.trim().split('\n').pop()!);
}

const esmFiles = {
  'index.js': 'export const answer = 42;\n',
  'index.d.ts': 'export declare const answer: number;\n',
  'README.md': '# fixture\n',
  LICENSE: 'MIT\n',
};
const goodManifest = {
  type: 'module',
  sideEffects: false,
  engines: { node: '>=20.11' },
  exports: { '.': { types: './index.d.ts', default: './index.js' }, './package.json': './package.json' },
  types: './index.d.ts',
  files: ['index.js', 'index.d.ts'],
};

describe('publint and attw on tarballs', () => {
  it('accept an ESM-only package with types first, ignoring only what CommonJS consumers see', async () => {
    const tgz = packFixture('good-esm', goodManifest, esmFiles);
    const r = await lintTarball(tgz);
    expect(r.errors).toEqual([]);
    // A CommonJS `require` of it resolves to ESM: the esm-only profile ignores exactly that.
    expect(r.attwIgnored).toEqual(["attw CJSResolvesToESM: entrypoint '.' under node16-cjs"]);
  });

  it('publint --strict rejects `types` after `default` and an export target missing from the tarball', async () => {
    const tgz = packFixture(
      'bad-publint',
      {
        ...goodManifest,
        exports: { '.': { default: './index.js', types: './index.d.ts' }, './extra': './extra.js' },
      },
      { ...esmFiles, 'extra.js': 'export {};\n' },
    );
    const r = await publintTarball(tgz);
    const codes = r.errors.map((e) => /^publint \w+ (\w+):/.exec(e)?.[1]);
    expect(codes).toContain('EXPORTS_TYPES_SHOULD_BE_FIRST');
    expect(codes).toContain('FILE_DOES_NOT_EXIST');
    expect(r.errors.join('\n')).toMatch(/extra\.js/);
  });

  it('attw rejects ESM code whose types claim to be CommonJS, even under the esm-only profile', () => {
    const tgz = packFixture(
      'bad-attw',
      { ...goodManifest, exports: { '.': { types: './index.d.cts', default: './index.js' } }, types: './index.d.cts', files: ['index.js', 'index.d.cts'] },
      { ...esmFiles, 'index.d.cts': 'export declare const answer: number;\n' },
    );
    const r = attwTarball(tgz);
    expect(r.exitCode).not.toBe(0);
    expect(r.errors).toEqual(['attw FalseCJS: index.d.cts vs index.js']);
  });

  it('attw rejects an export with no types at all', () => {
    const tgz = packFixture(
      'untyped',
      { ...goodManifest, exports: { '.': './index.js' }, types: undefined, files: ['index.js'] },
      { 'index.js': 'export const answer = 42;\n', 'README.md': '# x\n' },
    );
    const r = attwTarball(tgz);
    // attw itself exits 0 here (it has nothing to analyse); the wrapper does not let that pass.
    expect(r.exitCode).toBe(0);
    expect(r.errors).toEqual(['attw: the package ships no types (no .d.ts reachable from its entry points)']);
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attwTarball, publintTarball } from '../publint-attw/publint-attw.mjs';
import { packAll, pnpmCommand, publishablePackages, smokePackage, workspaceDependencyClosure, workspacePackages } from './pack-smoke.mjs';

// Under Nx the `^build` dependency of tools:test has just built (or restored) every publishable
// package; run directly, the smoke test builds them itself.
const build = process.env.NX_TASK_TARGET_TARGET !== 'test';
const packages = workspacePackages();
const publishable = publishablePackages();
const pnpm = pnpmCommand();

// Every publishable package is packed at most once, when a test first needs it (so `-t <name>`
// packs only that package and its workspace dependencies); publint, attw and the install test
// share the tarball.
let dest = '';
const tarballs = new Map<string, string>();
beforeAll(() => {
  dest = mkdtempSync(join(tmpdir(), 'pack-smoke-tarballs-'));
});
afterAll(() => {
  if (dest) rmSync(dest, { recursive: true, force: true });
});

const tarballOf = (name: string): string => {
  const pkgs = [name, ...workspaceDependencyClosure(packages, name)].map((n) => {
    const p = publishable.find((q) => q.name === n);
    if (!p) throw new Error(`${n} (needed by ${name}) is not a publishable package`);
    return p;
  });
  for (const [n, t] of packAll(pkgs.filter((p) => !tarballs.has(p.name)), dest, { build, pnpm })) tarballs.set(n, t);
  return tarballs.get(name)!;
};

describe('pack-smoke', () => {
  it('finds the publishable packages', () => {
    expect(publishable.map((p) => p.name)).toContain('@methodzoo/core');
    expect(publishable.every((p) => p.manifest.private !== true)).toBe(true);
  });

  describe.each(publishable.map((p) => [p.name, p] as const))('%s', (name, pkg) => {
    it('passes publint --strict on its tarball', async () => {
      const r = await publintTarball(tarballOf(name));
      expect(r.errors).toEqual([]);
    });

    it('passes attw (esm-only profile: node16 from ESM and bundler resolve typed ESM)', () => {
      const r = attwTarball(tarballOf(name));
      expect(r.errors).toEqual([]);
      expect(r.exitCode).toBe(0);
      // The analysis covered the root entry point under the resolutions the profile keeps.
      expect(Object.keys(r.analysis.entrypoints)).toContain('.');
      const root = r.analysis.entrypoints['.'].resolutions;
      expect(root['node16-esm'].resolution.fileName).toMatch(/\.d\.ts$/);
      expect(root.bundler.resolution.fileName).toMatch(/\.d\.ts$/);
    });

    it('installs alone from its pnpm pack tarball and runs its README example', () => {
      tarballOf(name);
      const r = smokePackage(pkg, { packages, build: false, pnpm, tarballs });
      const files = r.files.map((f) => f.replace(/^package\//, ''));
      expect(files).toEqual(expect.arrayContaining(['package.json', 'dist/index.js', 'dist/index.d.ts', 'README.md']));
      expect(r.example.stderr).toBe('');
      expect(r.problems).toEqual([]);
      expect(r.example.stdout.trimEnd().split('\n')).toEqual(r.expected);
    });
  });
});

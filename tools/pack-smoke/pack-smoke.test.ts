import { describe, expect, it } from 'vitest';
import { pnpmCommand, publishablePackages, smokePackage, workspacePackages } from './pack-smoke.mjs';

// Under Nx the `^build` dependency of tools:test has just built (or restored) every publishable
// package; run directly, the smoke test builds them itself.
const build = process.env.NX_TASK_TARGET_TARGET !== 'test';
const packages = workspacePackages();
const publishable = publishablePackages();
const pnpm = pnpmCommand();

describe('pack-smoke', () => {
  it('finds the publishable packages', () => {
    expect(publishable.map((p) => p.name)).toContain('@methodzoo/core');
    expect(publishable.every((p) => p.manifest.private !== true)).toBe(true);
  });

  describe.each(publishable.map((p) => [p.name, p] as const))('%s', (_name, pkg) => {
    it('installs alone from its pnpm pack tarball and runs its README example', () => {
      const r = smokePackage(pkg, { packages, build, pnpm });
      const files = r.files.map((f) => f.replace(/^package\//, ''));
      expect(files).toEqual(expect.arrayContaining(['package.json', 'dist/index.js', 'dist/index.d.ts', 'README.md']));
      expect(r.example.stderr).toBe('');
      expect(r.problems).toEqual([]);
      expect(r.example.stdout.trimEnd().split('\n')).toEqual(r.expected);
    });
  });
});

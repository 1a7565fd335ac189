import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { publishedRange, releaseCheck } from '../release-check/release-check.mjs';

// Each case builds a small workspace (pnpm-workspace.yaml, .changeset/config.json, packages/*)
// in a temp folder and checks it against a fake registry.
const work = mkdtempSync(join(tmpdir(), 'release-check-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let n = 0;

type Pkg = { manifest?: Record<string, unknown>; built?: boolean; dir?: string };
function workspace(pkgs: Record<string, Pkg>, opts: { config?: Record<string, unknown>; changesets?: Record<string, string>; workspaceYaml?: string } = {}): string {
  const root = join(work, `ws${n++}`);
  const write = (p: string, text: string) => {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text);
  };
  write('pnpm-workspace.yaml', opts.workspaceYaml ?? 'packages:\n  - packages/*\n  - tools\n');
  write('tools/package.json', JSON.stringify({ name: '@zoo/tools', version: '0.0.0', private: true }));
  write('.changeset/config.json', JSON.stringify({ access: 'public', updateInternalDependencies: 'patch', ignore: [], fixed: [], linked: [], ...opts.config }));
  write('.changeset/README.md', '# Changesets\n');
  for (const [f, text] of Object.entries(opts.changesets ?? {})) write(`.changeset/${f}`, text);
  for (const [name, spec] of Object.entries(pkgs)) {
    const dir = `packages/${spec.dir ?? name.split('/').pop()}`;
    const manifest = {
      name,
      version: '1.0.0',
      type: 'module',
      exports: { '.': { 'methodzoo-source': './src/index.ts', types: './dist/index.d.ts', default: './dist/index.js' } },
      publishConfig: { access: 'public', exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } } },
      ...spec.manifest,
    };
    write(`${dir}/package.json`, JSON.stringify(manifest));
    write(`${dir}/src/index.ts`, 'export const x = 1;\n');
    // The build is newer than the source, as after `pnpm build`.
    utimesSync(join(root, dir, 'src/index.ts'), new Date(1_000_000_000_000), new Date(1_000_000_000_000));
    if (spec.built !== false) {
      write(`${dir}/dist/index.js`, 'export const x = 1;\n');
      write(`${dir}/dist/index.d.ts`, 'export declare const x: number;\n');
    }
  }
  return root;
}

const registry = (published: Record<string, string[]>) => (name: string) => published[name] ?? [];

describe('release-check', () => {
  it('passes a consistent workspace and lists what changeset publish would publish', () => {
    const root = workspace({
      '@zoo/core': { manifest: { version: '1.1.0' } },
      '@zoo/method': { manifest: { version: '0.2.0', dependencies: { '@zoo/core': 'workspace:^' } } },
    });
    const r = releaseCheck({ root, registryVersions: registry({ '@zoo/core': ['1.0.0'], '@zoo/method': ['0.2.0'] }) });
    expect(r.problems).toEqual([]);
    expect(r.toPublish).toEqual([{ name: '@zoo/core', version: '1.1.0' }]);
    expect(r.onRegistry).toEqual([{ name: '@zoo/method', version: '0.2.0' }]);
  });

  it('fails when a package to publish has no dist/ build, or an export target is missing', () => {
    const root = workspace({ '@zoo/core': { built: false }, '@zoo/method': {} });
    rmSync(join(root, 'packages/method/dist/index.d.ts'));
    const r = releaseCheck({ root, registryVersions: registry({}) });
    expect(r.problems).toEqual([
      '@zoo/core has no dist/ build (packages/core/dist): run `pnpm build` before publishing',
      "@zoo/method's build is incomplete: ./dist/index.d.ts missing; run `pnpm build`",
    ]);
  });

  it('fails when the source is newer than the build', () => {
    const root = workspace({ '@zoo/core': {} });
    utimesSync(join(root, 'packages/core/src/index.ts'), new Date(), new Date(Date.now() + 60_000));
    const r = releaseCheck({ root, registryVersions: registry({}) });
    expect(r.problems).toEqual(["@zoo/core's dist/ is older than packages/core/src/index.ts: run `pnpm build` before publishing"]);
  });

  it('does not ask for a build of a package whose version is already on the registry', () => {
    const root = workspace({ '@zoo/core': { built: false } });
    const r = releaseCheck({ root, registryVersions: registry({ '@zoo/core': ['1.0.0'] }) });
    expect(r.problems).toEqual([]);
    expect(r.toPublish).toEqual([]);
  });

  it('fails when a publishable package is ignored by the changeset config, or ignore names no package', () => {
    const root = workspace({ '@zoo/core': {}, '@zoo/method': {} }, { config: { ignore: ['@zoo/method', '@zoo/gone'] } });
    const r = releaseCheck({ root, registryVersions: registry({}) });
    expect(r.problems).toEqual([
      '@zoo/method is publishable but listed in .changeset/config.json "ignore": changeset version would never bump it while changeset publish still publishes it; remove it from ignore, or mark the package "private": true',
      ".changeset/config.json ignore entry '@zoo/gone' matches no workspace package: remove it or fix the name",
    ]);
  });

  it('fails when a package folder is outside the workspace, so changesets never sees it', () => {
    const root = workspace({ '@zoo/core': {}, '@zoo/method': {} }, { workspaceYaml: 'packages:\n  - packages/core\n  - tools\n' });
    const r = releaseCheck({ root, registryVersions: registry({}) });
    expect(r.problems).toEqual([
      "packages/method is not a workspace package (pnpm-workspace.yaml does not list it), so changesets never versions or publishes it: add it to pnpm-workspace.yaml's packages",
    ]);
  });

  it('fails when fixed/linked groups or a pending changeset name private or unknown packages, and while changesets are pending', () => {
    const root = workspace(
      { '@zoo/core': {}, '@zoo/internal': { manifest: { private: true } } },
      { config: { fixed: [['@zoo/core', '@zoo/internal']] }, changesets: { 'a.md': "---\n'@zoo/internal': patch\n'@zoo/nope': minor\n---\n\nText.\n" } },
    );
    const r = releaseCheck({ root, registryVersions: registry({}) });
    expect(r.problems).toEqual([
      '.changeset/config.json fixed names @zoo/internal, which is private and never published',
      '.changeset/a.md bumps @zoo/internal, which is private and never released',
      ".changeset/a.md bumps '@zoo/nope', which is not a workspace package",
      '1 changeset(s) still pending (a.md): publishing now would ship the old versions; run `pnpm changeset version`, review and commit, then publish',
    ]);
  });

  it('fails when a package to publish was never versioned (0.0.0)', () => {
    const root = workspace({ '@zoo/core': { manifest: { version: '0.0.0' } } });
    const r = releaseCheck({ root, registryVersions: registry({}) });
    expect(r.problems).toEqual(['@zoo/core is at 0.0.0, never versioned: add a changeset announcing its first release (`pnpm changeset`) and run `pnpm changeset version`']);
  });

  it('fails when a package to publish depends on a private workspace package', () => {
    const root = workspace({
      '@zoo/internal': { manifest: { private: true } },
      '@zoo/method': { manifest: { dependencies: { '@zoo/internal': 'workspace:^' } } },
    });
    const r = releaseCheck({ root, registryVersions: registry({}) });
    expect(r.problems).toEqual([
      '@zoo/method depends on @zoo/internal (dependencies), which is private and never published: installing @zoo/method@1.0.0 would fail; make @zoo/internal publishable or drop the dependency',
    ]);
  });

  it('fails when a workspace dependency range is met by no version on the registry or in this release', () => {
    // core 2.0.0 is on the registry and not being republished; method wants ^3.0.0 of it.
    const root = workspace({
      '@zoo/core': { manifest: { version: '2.0.0' } },
      '@zoo/method': { manifest: { dependencies: { '@zoo/core': 'workspace:^3.0.0' }, peerDependencies: { '@zoo/core': '^2.0.0' } } },
    });
    const r = releaseCheck({ root, registryVersions: registry({ '@zoo/core': ['1.0.0', '2.0.0'] }) });
    expect(r.toPublish).toEqual([{ name: '@zoo/method', version: '1.0.0' }]);
    expect(r.problems).toEqual([
      "@zoo/method depends on @zoo/core@^3.0.0 (dependencies: 'workspace:^3.0.0'), but no such version is on the registry or in this release (@zoo/core is at 2.0.0; registry has 1.0.0, 2.0.0): the published @zoo/method could not be installed",
    ]);
  });

  it('accepts a dependency that is being published in the same release', () => {
    const root = workspace({
      '@zoo/core': { manifest: { version: '3.0.0' } },
      '@zoo/method': { manifest: { dependencies: { '@zoo/core': 'workspace:^3.0.0' } } },
    });
    const r = releaseCheck({ root, registryVersions: registry({ '@zoo/core': ['2.0.0'] }) });
    expect(r.problems).toEqual([]);
    expect(r.toPublish.map((p) => p.name)).toEqual(['@zoo/core', '@zoo/method']);
  });

  it('rewrites workspace ranges as pnpm publish does', () => {
    expect(publishedRange('workspace:^', '1.2.3')).toBe('^1.2.3');
    expect(publishedRange('workspace:~', '1.2.3')).toBe('~1.2.3');
    expect(publishedRange('workspace:*', '1.2.3')).toBe('1.2.3');
    expect(publishedRange('workspace:^2.0.0', '1.2.3')).toBe('^2.0.0');
    expect(publishedRange('^4.0.0', '1.2.3')).toBe('^4.0.0');
  });

  it('as a command, prints every problem and exits 1; a registry it cannot ask is an error, not "absent"', () => {
    const root = workspace({ '@zoo/core': { built: false } });
    const script = join(import.meta.dirname, '../release-check/release-check.mjs');
    // Port 9 (discard) on loopback: nothing answers, so npm view fails fast.
    const r = spawnSync(process.execPath, [script, '--root', root, '--registry', 'http://127.0.0.1:9/'], {
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, npm_config_fetch_retries: '0', npm_config_fetch_timeout: '5000' },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^release-check: FAILED: release-check: `npm view @zoo\/core versions --json --registry http:\/\/127\.0\.0\.1:9\/` failed/);
  });
});

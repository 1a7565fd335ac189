import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultTargets, expectedRelease } from '../release-rehearsal/release-rehearsal.mjs';
import { startVerdaccio } from '../release-rehearsal/verdaccio.mjs';

// The full rehearsal (`pnpm release:rehearse`) builds and publishes the whole repository several
// times, minutes of work, so it is a separate command; these tests cover its parts.

const m = (version: string, dependencies: Record<string, string> = {}) => ({ version, dependencies });

describe('expectedRelease (what changeset version must change)', () => {
  const before = new Map([
    ['@z/core', m('0.1.0')],
    ['@z/models', m('0.1.0', { '@z/core': 'workspace:^' })],
    ['@z/method', m('0.1.0', { '@z/core': 'workspace:^', '@z/models': 'workspace:^' })],
    ['@z/other', m('0.3.0')],
  ]);

  it('a patch of a leaf changes only the leaf', () => {
    expect([...expectedRelease(before, { '@z/method': 'patch' })]).toEqual([['@z/method', '0.1.1']]);
  });

  it('a patch of core stays inside the dependents ^0.1.0 ranges: only core changes', () => {
    expect([...expectedRelease(before, { '@z/core': 'patch' })]).toEqual([['@z/core', '0.1.1']]);
  });

  it('a minor of core (0.x) leaves ^0.1.0: its dependents get a patch, the unrelated package nothing', () => {
    expect(Object.fromEntries(expectedRelease(before, { '@z/core': 'minor' }))).toEqual({ '@z/core': '0.2.0', '@z/models': '0.1.1', '@z/method': '0.1.1' });
  });

  it('a patch of a dependency that leaves an exact range cascades', () => {
    const exact = new Map([
      ['@z/a', m('1.0.0')],
      ['@z/b', m('1.0.0', { '@z/a': 'workspace:*' })],
      ['@z/c', m('2.0.0', { '@z/b': '1.0.0' })],
    ]);
    expect(Object.fromEntries(expectedRelease(exact, { '@z/a': 'patch' }))).toEqual({ '@z/a': '1.0.1', '@z/b': '1.0.1', '@z/c': '2.0.1' });
  });
});

describe('defaultTargets (what the rehearsal bumps and installs by default)', () => {
  const work = mkdtempSync(join(tmpdir(), 'rehearsal-targets-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const pkg = (name: string, dependencies: Record<string, string>, readme: string | null) => {
    const dir = join(work, name.split('/')[1]!);
    mkdirSync(dir, { recursive: true });
    if (readme !== null) writeFileSync(join(dir, 'README.md'), readme);
    return { name, dir, manifest: { version: '0.1.0', dependencies } };
  };
  const example = '# x\n<!-- example -->\n```js\nconsole.log(1); // prints: 1\n```\n';

  it('bumps a leaf (patch) and the most depended-on package (minor), and installs the leaf', () => {
    const pkgs = [
      pkg('@z/core', {}, example),
      pkg('@z/datasets', { '@z/core': 'workspace:^' }, example),
      pkg('@z/cli', { '@z/core': 'workspace:^', '@z/datasets': 'workspace:^', vega: '6.4.0' }, example),
      pkg('@z/heavy', { '@z/core': 'workspace:^', tfjs: '4.22.0' }, example),
      pkg('@z/method', { '@z/core': 'workspace:^' }, example),
      pkg('@z/no-readme', { '@z/core': 'workspace:^' }, null),
    ];
    // Leaves with a README example: cli, heavy, method; method has no registry dependency.
    expect(defaultTargets(pkgs)).toEqual({ bumps: [{ name: '@z/method', type: 'patch' }, { name: '@z/core', type: 'minor' }], install: '@z/method' });
  });

  it('with only one package, bumps and installs it', () => {
    expect(defaultTargets([pkg('@z/solo', {}, example)])).toEqual({ bumps: [{ name: '@z/solo', type: 'minor' }], install: '@z/solo' });
  });
});

describe('local Verdaccio', () => {
  const work = mkdtempSync(join(tmpdir(), 'verdaccio-test-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('starts on loopback, publishes only with its token, serves installs, and stops', async () => {
    const reg = await startVerdaccio(join(work, 'registry'));
    let stopped = false;
    try {
      expect(reg.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      // Offline: no uplinks, so a package it does not hold is a 404, not a proxied fetch.
      expect((await fetch(`${reg.url}left-pad`)).status).toBe(404);

      const pkg = join(work, 'pkg');
      mkdirSync(pkg);
      writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: '@methodzoo/rehearsal-fixture', version: '1.2.3', type: 'module', main: 'index.js' }));
      writeFileSync(join(pkg, 'index.js'), "export const hello = 'from the local registry';\n");
      const userconfig = join(work, 'user.npmrc');
      writeFileSync(userconfig, '');
      const npm = (args: string[], cwd: string, npmrc: string) => {
        writeFileSync(join(cwd, '.npmrc'), npmrc);
        return spawnSync('npm', args, { cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, npm_config_userconfig: userconfig } });
      };
      const host = reg.url.replace(/^http:/, '');

      const anonymous = npm(['publish', '--registry', reg.url], pkg, '');
      expect(anonymous.status).not.toBe(0);
      expect(anonymous.stdout + anonymous.stderr).toMatch(/E401|ENEEDAUTH|unauthorized|need auth/i);

      const published = npm(['publish', '--registry', reg.url], pkg, `${host}:_authToken=${reg.token}\n`);
      expect(published.stderr).not.toMatch(/ERR!/);
      expect(published.status).toBe(0);

      const app = join(work, 'app');
      mkdirSync(app);
      writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
      const inst = npm(['install', '--no-audit', '--no-fund', '@methodzoo/rehearsal-fixture'], app, `@methodzoo:registry=${reg.url}\n`);
      expect(inst.status).toBe(0);
      expect(JSON.parse(readFileSync(join(app, 'node_modules/@methodzoo/rehearsal-fixture/package.json'), 'utf8')).version).toBe('1.2.3');
      const run = spawnSync(process.execPath, ['-e', "import('@methodzoo/rehearsal-fixture').then((m) => console.log(m.hello))"], { cwd: app, encoding: 'utf8' });
      expect(run.stdout.trim()).toBe('from the local registry');

      await reg.stop();
      stopped = true;
      await expect(fetch(`${reg.url}-/ping`, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
    } finally {
      if (!stopped) await reg.stop();
    }
  });
});

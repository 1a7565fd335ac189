#!/usr/bin/env node
/**
 * Release rehearsal: the whole Changesets release, end to end, against a throwaway local
 * Verdaccio registry, on a clone of the repository's HEAD (the checkout is never touched).
 *
 * 1. Clone HEAD into a temp folder and install it (pnpm, from the store).
 * 2. Start Verdaccio on 127.0.0.1 (free port, temp storage, no uplinks, a throwaway user).
 * 3. Release 1, the pending one: `changeset version` applies the pending changesets; the release
 *    check must refuse to publish before the build (no dist/); then `pnpm release` (build, release
 *    check, `changeset publish`) publishes every package.
 * 4. One more release per sample changeset (by default: a patch of one leaf package, then a minor
 *    of the package most others depend on): `changeset version` must change only the bumped
 *    package's version and changelog, plus the dependents whose internal range the new version
 *    leaves (`updateInternalDependencies`), which get a patch and the new range; `pnpm release`
 *    must publish exactly those.
 * 5. In an empty folder, `npm install @methodzoo/<package>` from the local registry and run the
 *    package README's example, checking its `// prints:` lines.
 * Verdaccio is stopped and the temp folder removed at the end, also on failure; every command has
 * a time limit.
 *
 * Usage: node tools/release-rehearsal/release-rehearsal.mjs [--bump name[:patch|minor|major]]...
 *          [--install name] [--keep]
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import semver from 'semver';
import { compareOutput, extractReadmeExample, pnpmCommand, publishablePackages, WORKSPACE_ROOT } from '../pack-smoke/pack-smoke.mjs';
import { publishedRange } from '../release-check/release-check.mjs';
import { startVerdaccio } from './verdaccio.mjs';

const DEP_FIELDS = ['dependencies', 'peerDependencies', 'optionalDependencies'];

/** Runs a command with a time limit; throws with its output when it fails (unless `allowFail`). */
function sh(cmd, args, { cwd, env = process.env, timeoutMs = 300_000, allowFail = false } = {}) {
  // stdout and stderr into one file, so the output keeps its order.
  const outFile = join(mkdtempSync(join(tmpdir(), 'rehearsal-sh-')), 'out.txt');
  const fd = openSync(outFile, 'w');
  let r;
  try {
    r = spawnSync(cmd, args, { cwd, env: { ...env, NO_COLOR: '1', FORCE_COLOR: '0' }, stdio: ['ignore', fd, fd], timeout: timeoutMs });
  } finally {
    closeSync(fd);
  }
  const out = readFileSync(outFile, 'utf8');
  rmSync(dirname(outFile), { recursive: true, force: true });
  if (r.error) throw new Error(`\`${cmd} ${args.join(' ')}\` could not run or timed out after ${timeoutMs} ms: ${r.error.message}\n${out}`.trimEnd());
  if (r.status !== 0 && !allowFail) throw new Error(`\`${cmd} ${args.join(' ')}\` in ${cwd} exited ${r.status ?? r.signal}\n${out}`.trimEnd());
  return { status: r.status, out };
}

/** name -> manifest of the publishable packages in `root`. */
function manifests(root) {
  return new Map(publishablePackages(root).map((p) => [p.name, p.manifest]));
}

/**
 * What `changeset version` should do for one changeset `{ name: bump }` (the sample changesets
 * bump one package): the bumped package moves by its bump type; with updateInternalDependencies a
 * package whose published range for a changed package no longer accepts its new version is
 * patched (and its range updated), transitively.
 * @returns {Map<string, string>} name -> expected new version, for every package that changes
 */
export function expectedRelease(before, bumps) {
  const next = new Map();
  for (const [name, type] of Object.entries(bumps)) next.set(name, semver.inc(before.get(name).version, type));
  for (let changed = true; changed; ) {
    changed = false;
    for (const [name, m] of before) {
      if (next.has(name)) continue;
      for (const field of DEP_FIELDS) {
        for (const [dep, range] of Object.entries(m[field] ?? {})) {
          if (!next.has(dep) || !before.has(dep)) continue;
          if (!semver.satisfies(next.get(dep), publishedRange(String(range), before.get(dep).version))) {
            next.set(name, semver.inc(m.version, 'patch'));
            changed = true;
          }
        }
      }
    }
  }
  return next;
}

function versionsTable(rows) {
  const names = [...new Set(rows.flatMap((r) => [...r.versions.keys()]))].sort();
  const w = Math.max(7, ...names.map((n) => n.length));
  const cols = rows.map((r) => r.label);
  const cw = cols.map((c) => Math.max(c.length, 9));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(w) : c.padEnd(cw[i - 1]))).join('  ').trimEnd();
  return [line(['package', ...cols]), ...names.map((n) => line([n, ...rows.map((r) => r.versions.get(n)?.version ?? '-')]))].join('\n');
}

/**
 * Packages for the default sample changesets and the install: the package most others depend on
 * (core), and a leaf (nothing depends on it) that depends on a workspace package and has a README
 * example, preferring the fewest registry dependencies (a quick install).
 */
export function defaultTargets(pkgs) {
  const ms = new Map(pkgs.map((p) => [p.name, p.manifest]));
  const names = [...ms.keys()].sort();
  const deps = (n) => DEP_FIELDS.flatMap((f) => Object.keys(ms.get(n)[f] ?? {}));
  const dependents = (n) => names.filter((o) => deps(o).includes(n));
  const base = [...names].sort((a, b) => dependents(b).length - dependents(a).length || a.localeCompare(b))[0];
  const hasExample = (n) => {
    const readme = join(pkgs.find((p) => p.name === n).dir, 'README.md');
    return existsSync(readme) && readFileSync(readme, 'utf8').includes('<!-- example -->');
  };
  const external = (n) => deps(n).filter((d) => !ms.has(d)).length;
  const leaves = names.filter((n) => n !== base && dependents(n).length === 0 && deps(n).some((d) => ms.has(d)) && hasExample(n));
  const leaf = leaves.sort((a, b) => external(a) - external(b) || a.localeCompare(b))[0];
  const bumps = [];
  if (leaf) bumps.push({ name: leaf, type: 'patch' });
  if (base) bumps.push({ name: base, type: 'minor' });
  return { bumps, install: leaf ?? base };
}

/**
 * @param {{ root?: string, bumps?: { name: string, type: string }[], install?: string, keep?: boolean, log?: (s: string) => void }} opts
 */
export async function rehearse({ root = WORKSPACE_ROOT, bumps, install, keep = false, log = (s) => console.log(s) } = {}) {
  const t0 = performance.now();
  const timings = [];
  let tStep = t0;
  const step = (name) => {
    const now = performance.now();
    if (timings.length) timings[timings.length - 1].seconds = (now - tStep) / 1000;
    timings.push({ name, seconds: 0 });
    tStep = now;
    log(`\n== ${name}`);
  };
  const work = mkdtempSync(join(tmpdir(), 'methodzoo-release-rehearsal-'));
  const repo = join(work, 'repo');
  const app = join(work, 'app');
  let registry;
  const result = { rounds: [], install: null, example: null, timings, seconds: 0 };
  try {
    step('clone HEAD and install');
    sh('git', ['clone', '--quiet', '--no-hardlinks', root, repo], { timeoutMs: 120_000 });
    const head = sh('git', ['log', '-1', '--format=%h %s'], { cwd: repo }).out.trim();
    log(`cloned ${head}`);
    for (const [k, v] of [['user.email', 'rehearsal@localhost'], ['user.name', 'release rehearsal']]) sh('git', ['config', k, v], { cwd: repo });

    // pnpm for the scripts and for changesets (which runs `pnpm publish`), pinned like the repo,
    // as a binary on PATH: `npx pnpm@x` would look for pnpm itself on the local registry.
    const bin = join(work, 'bin');
    mkdirSync(bin);
    const pnpmBin = pnpmBinary(root, work);
    // pnpm 12 ships a native executable; older ones a JS entry.
    const runPnpm = /\.[cm]?js$/.test(pnpmBin) ? `'${process.execPath}' '${pnpmBin}'` : `'${pnpmBin}'`;
    writeFileSync(join(bin, 'pnpm'), `#!/bin/sh\nexec ${runPnpm} "$@"\n`);
    chmodSync(join(bin, 'pnpm'), 0o755);
    const baseEnv = {
      ...process.env,
      PATH: `${bin}:${process.env.PATH}`,
      CI: 'true',
      NX_DAEMON: 'false',
      NX_NO_CLOUD: 'true',
      NX_TUI: 'false',
      // No user-level npm config (tokens, registries) leaks in; the repo's .npmrc says everything.
      npm_config_userconfig: join(work, 'user.npmrc'),
    };
    writeFileSync(join(work, 'user.npmrc'), '');
    // Not frozen: CI checks the lockfile; the rehearsal is about versioning and publishing.
    sh('pnpm', ['install', '--prefer-offline', '--no-frozen-lockfile', '--config.confirmModulesPurge=false'], { cwd: repo, env: baseEnv, timeoutMs: 300_000 });

    step('start the local registry');
    registry = await startVerdaccio(join(work, 'verdaccio'));
    const hostPath = registry.url.replace(/^https?:/, '');
    log(`verdaccio ${registry.version} on ${registry.url} (storage in a temp folder, no uplinks), user '${registry.user}' with a token`);
    writeFileSync(join(repo, '.npmrc'), `registry=${registry.url}\n${hostPath}:_authToken=${registry.token}\n`);
    writeFileSync(join(repo, '.git/info/exclude'), '.npmrc\n', { flag: 'a' });
    const env = { ...baseEnv, npm_config_registry: registry.url, NPM_CONFIG_REGISTRY: registry.url };
    const npmView = (spec, field) => {
      const r = spawnSync('npm', ['view', spec, field, '--json'], { cwd: repo, env, encoding: 'utf8', timeout: 60_000 });
      if (r.error) throw r.error;
      if (r.status !== 0) {
        if (/E404/.test(r.stdout + r.stderr)) return undefined;
        throw new Error(`npm view ${spec} ${field} failed:\n${r.stdout}${r.stderr}`);
      }
      return JSON.parse(r.stdout.trim() || 'null') ?? undefined;
    };
    const onRegistry = (name) => {
      const v = npmView(name, 'versions') ?? [];
      return Array.isArray(v) ? v : [v];
    };

    const start = manifests(repo);
    const chosen = defaultTargets(publishablePackages(repo));
    bumps ??= chosen.bumps;
    install ??= chosen.install;
    for (const b of bumps) if (!start.has(b.name)) throw new Error(`--bump ${b.name}: not a publishable package (${[...start.keys()].join(', ')})`);
    if (!start.has(install)) throw new Error(`--install ${install}: not a publishable package`);
    const columns = [{ label: 'HEAD', versions: start }];

    // ---- release 1: the pending changesets ----------------------------------------------------
    step('release 1: changeset version (pending changesets)');
    const pending = readdirSync(join(repo, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md');
    log(`pending changesets: ${pending.join(', ') || 'none'}`);
    if (pending.length) {
      log(sh('pnpm', ['exec', 'changeset', 'version'], { cwd: repo, env }).out.trim());
      sh('git', ['commit', '-qam', 'release 1 (rehearsal)'], { cwd: repo });
    }
    const r1 = manifests(repo);
    columns.push({ label: 'release 1', versions: r1 });

    step('release 1: the release check refuses an unbuilt publish');
    const gate = sh('node', ['tools/release-check/release-check.mjs'], { cwd: repo, env, allowFail: true, timeoutMs: 120_000 });
    log(gate.out.trim());
    if (gate.status === 0 || !/has no dist\/ build/.test(gate.out)) throw new Error('release-check did not refuse to publish packages without a build');

    step('release 1: pnpm release (build, release check, changeset publish)');
    log(tail(sh('pnpm', ['run', 'release'], { cwd: repo, env, timeoutMs: 600_000 }).out, 25));
    const published1 = new Map([...r1.keys()].map((n) => [n, onRegistry(n)]));
    for (const [n, m] of r1) {
      if (!published1.get(n).includes(m.version)) throw new Error(`release 1: ${n}@${m.version} is not on the registry after changeset publish`);
    }
    result.rounds.push({ label: 'release 1', versions: r1, published: [...r1].map(([n, m]) => `${n}@${m.version}`) });

    // ---- one release per sample changeset -----------------------------------------------------
    let prev = r1;
    for (const [i, b] of bumps.entries()) {
      const label = `release ${i + 2}`;
      step(`${label}: sample changeset (${b.name}: ${b.type}), changeset version`);
      const file = `.changeset/rehearsal-${i + 2}.md`;
      writeFileSync(join(repo, file), `---\n'${b.name}': ${b.type}\n---\n\nRehearsal: a ${b.type} change to ${b.name}.\n`);
      sh('git', ['add', file], { cwd: repo });
      sh('git', ['commit', '-qm', `${label}: changeset (rehearsal)`], { cwd: repo });
      log(sh('pnpm', ['exec', 'changeset', 'version'], { cwd: repo, env }).out.trim());
      const expected = expectedRelease(prev, { [b.name]: b.type });
      const next = manifests(repo);
      const changedFiles = sh('git', ['status', '--porcelain'], { cwd: repo }).out.split('\n').filter(Boolean).map((l) => l.slice(3)).sort();
      const dirOf = new Map(publishablePackages(repo).map((p) => [p.name, p.dir.slice(repo.length + 1)]));
      const expectedFiles = [file, ...[...expected.keys()].flatMap((n) => [`${dirOf.get(n)}/CHANGELOG.md`, `${dirOf.get(n)}/package.json`])].sort();
      log(`changed files: ${changedFiles.join(', ')}`);
      if (JSON.stringify(changedFiles) !== JSON.stringify(expectedFiles)) {
        throw new Error(`${label}: changeset version changed ${changedFiles.join(', ')}; expected exactly ${expectedFiles.join(', ')}`);
      }
      for (const [n, m] of next) {
        const want = expected.get(n) ?? prev.get(n).version;
        if (m.version !== want) throw new Error(`${label}: ${n} is at ${m.version} after changeset version; expected ${want}`);
        // Nothing but the version (and internal ranges of changed packages) may move.
        const strip = (x) => JSON.stringify({ ...x, version: undefined, ...Object.fromEntries(DEP_FIELDS.map((f) => [f, Object.fromEntries(Object.entries(x[f] ?? {}).filter(([d]) => !expected.has(d)))])) });
        if (strip(m) !== strip(prev.get(n))) throw new Error(`${label}: changeset version changed more than versions and internal ranges in ${n}'s package.json`);
        if (expected.has(n)) {
          const changelog = readFileSync(join(repo, dirOf.get(n), 'CHANGELOG.md'), 'utf8');
          if (!changelog.includes(`## ${want}`)) throw new Error(`${label}: ${n}'s CHANGELOG.md has no '## ${want}' section`);
        }
      }
      sh('git', ['commit', '-qam', `${label} (rehearsal)`], { cwd: repo });
      columns.push({ label, versions: next });

      step(`${label}: pnpm release`);
      log(tail(sh('pnpm', ['run', 'release'], { cwd: repo, env, timeoutMs: 600_000 }).out, 15));
      const published = [];
      for (const [n, m] of next) {
        const versions = onRegistry(n);
        const isNew = !prev.get(n) || m.version !== prev.get(n).version;
        if (!versions.includes(m.version)) throw new Error(`${label}: ${n}@${m.version} is not on the registry`);
        if (isNew) published.push(`${n}@${m.version}`);
        // Unchanged packages were not republished: their newest version is still the old one.
        if (!isNew && semver.maxSatisfying(versions, '*') !== m.version) throw new Error(`${label}: ${n} got a version it should not have (${versions.join(', ')})`);
      }
      // A changed dependent was published with the range pointing at the new version.
      for (const n of expected.keys()) {
        for (const field of DEP_FIELDS) {
          for (const dep of Object.keys(next.get(n)[field] ?? {})) {
            if (!expected.has(dep) || !next.has(dep)) continue;
            const range = npmView(`${n}@${next.get(n).version}`, field)?.[dep];
            if (!semver.satisfies(next.get(dep).version, range)) throw new Error(`${label}: published ${n} ${field}.${dep} is '${range}', which excludes ${dep}@${next.get(dep).version}`);
            log(`published ${n}@${next.get(n).version} ${field}.${dep}: ${range}`);
          }
        }
      }
      log(`published: ${published.join(', ')}`);
      result.rounds.push({ label, bump: b, versions: next, published, changedFiles });
      prev = next;
    }

    log(`\nversions:\n${versionsTable(columns)}`);

    // ---- install from the registry into an empty folder and run the README example -------------
    step(`npm install ${install} from the local registry, run its README example`);
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'rehearsal-consumer', version: '0.0.0', private: true, type: 'module' }, null, 2));
    // Only @methodzoo comes from the local registry; any other dependency from npm's default one.
    writeFileSync(join(app, '.npmrc'), `@methodzoo:registry=${registry.url}\n`);
    const appEnv = { ...baseEnv };
    const inst = sh('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', install], { cwd: app, env: appEnv, timeoutMs: 300_000 });
    log(`$ npm install ${install}\n${inst.out.trim()}`);
    const installed = {};
    const scopeDir = join(app, 'node_modules/@methodzoo');
    for (const d of readdirSync(scopeDir)) {
      const m = JSON.parse(readFileSync(join(scopeDir, d, 'package.json'), 'utf8'));
      installed[m.name] = m.version;
      if (prev.get(m.name)?.version !== m.version) throw new Error(`installed ${m.name}@${m.version}, but the release made ${prev.get(m.name)?.version}`);
    }
    const lock = readFileSync(join(app, 'package-lock.json'), 'utf8');
    if (!lock.includes(registry.url)) throw new Error('package-lock.json does not resolve @methodzoo from the local registry');
    log(`installed from ${registry.url}: ${Object.entries(installed).map(([n, v]) => `${n}@${v}`).join(', ')}`);
    const { code, expected } = extractReadmeExample(readFileSync(join(repo, publishablePackages(repo).find((p) => p.name === install).dir.slice(repo.length + 1), 'README.md'), 'utf8'));
    writeFileSync(join(app, 'example.mjs'), code);
    const exEnv = { ...process.env, NO_COLOR: '1', NODE_DISABLE_COLORS: '1' };
    delete exEnv.FORCE_COLOR;
    const ex = spawnSync(process.execPath, ['example.mjs'], { cwd: app, encoding: 'utf8', timeout: 120_000, env: exEnv });
    log(`$ node example.mjs   (${install}'s README example)\n${ex.stdout.trimEnd()}`);
    if (ex.status !== 0) throw new Error(`the README example exited ${ex.status ?? ex.signal}:\n${ex.stderr}`);
    const diff = compareOutput(ex.stdout, expected);
    if (diff) throw new Error(diff);
    result.install = { name: install, installed };
    result.example = { stdout: ex.stdout, expected };
    step('stop the registry, remove the temp folder');
  } finally {
    if (registry) await registry.stop();
    if (keep) log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
    const now = performance.now();
    if (timings.length && !timings[timings.length - 1].seconds) timings[timings.length - 1].seconds = (now - tStep) / 1000;
    result.seconds = (now - t0) / 1000;
    log(`\ntimings:\n${timings.map((t) => `  ${t.seconds.toFixed(1).padStart(6)} s  ${t.name}`).join('\n')}\n  ${result.seconds.toFixed(1).padStart(6)} s  total`);
  }
  return result;
}

/** Path of the pinned pnpm's JS entry (pnpm tells its scripts where it is: npm_execpath). */
function pnpmBinary(root, work) {
  const dir = join(work, 'which-pnpm');
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'which-pnpm', private: true, scripts: { where: 'node -e "require(\'fs\').writeFileSync(\'where.txt\', process.env.npm_execpath)"' } }));
  const pnpm = pnpmCommand(root);
  sh(pnpm[0], [...pnpm.slice(1), 'run', 'where'], { cwd: dir, timeoutMs: 120_000 });
  const where = readFileSync(join(dir, 'where.txt'), 'utf8').trim();
  if (!existsSync(where)) throw new Error(`could not locate the pnpm binary (npm_execpath: '${where}')`);
  return where;
}

function tail(text, n) {
  const lines = text.trimEnd().split('\n');
  return (lines.length > n ? ['...', ...lines.slice(-n)] : lines).join('\n');
}

async function main(argv) {
  const bumps = [];
  let install;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--bump') {
      const [name, type = 'patch'] = argv[++i].split(':');
      if (!['patch', 'minor', 'major'].includes(type)) throw new Error(`--bump ${argv[i]}: type must be patch, minor or major`);
      bumps.push({ name, type });
    } else if (argv[i] === '--install') install = argv[++i];
  }
  await rehearse({ bumps: bumps.length ? bumps : undefined, install, keep: argv.includes('--keep') });
  console.log('\nrelease rehearsal: ok');
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  // Ctrl-C: exit through the normal path so Verdaccio is stopped (the exit hook kills it).
  process.once('SIGINT', () => process.exit(130));
  process.once('SIGTERM', () => process.exit(143));
  main(process.argv.slice(2)).catch((e) => {
    console.error(`\nrelease rehearsal: FAILED\n${e instanceof Error ? e.message : e}`);
    process.exitCode = 1;
  });
}

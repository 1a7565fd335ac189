#!/usr/bin/env node
/**
 * Pack-and-install smoke test: for every publishable workspace package (`private !== true` under
 * packages/), build it, `pnpm pack` it and its workspace dependencies (so `workspace:` ranges are
 * rewritten and `publishConfig` is applied, as on publish), install the tarballs with plain npm into
 * an empty folder and run the package README's example with node.
 *
 * README convention: the example is the first ```js fenced block after a line `<!-- example -->`.
 * It is run as an ES module (`example.mjs`) next to the installed packages. Its expected standard
 * output is written in the block itself as `// prints: <line>` comments, in order: stdout must be
 * exactly those lines (so every line the example prints is stated in the README).
 *
 * Usage: node tools/pack-smoke/pack-smoke.mjs [--no-build] [--keep] [package-name ...]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gunzipSync } from 'node:zlib';

export const WORKSPACE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SOURCE_CONDITION = 'methodzoo-source';

// ---- workspace --------------------------------------------------------------------------------

/**
 * Workspace packages from pnpm-workspace.yaml's `packages:` list (plain folders and `dir/*` globs,
 * which is all this repository uses).
 * @returns {{ name: string, dir: string, manifest: Record<string, any> }[]}
 */
export function workspacePackages(root = WORKSPACE_ROOT) {
  const yaml = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8');
  const patterns = [];
  let inPackages = false;
  for (const line of yaml.split('\n')) {
    if (/^packages:\s*$/.test(line)) inPackages = true;
    else if (/^\S/.test(line)) inPackages = false;
    else if (inPackages) {
      const m = /^\s+-\s+['"]?([^'"#\s]+)['"]?/.exec(line);
      if (m) patterns.push(m[1]);
    }
  }
  const dirs = [];
  for (const p of patterns) {
    if (p.endsWith('/*')) {
      const parent = join(root, p.slice(0, -2));
      if (!existsSync(parent)) continue;
      for (const e of readdirSync(parent, { withFileTypes: true })) if (e.isDirectory()) dirs.push(join(parent, e.name));
    } else if (!p.includes('*')) dirs.push(join(root, p));
    else throw new Error(`pack-smoke: unsupported workspace pattern '${p}' in pnpm-workspace.yaml`);
  }
  return dirs
    .filter((d) => existsSync(join(d, 'package.json')))
    .map((dir) => {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      return { name: manifest.name, dir, manifest };
    });
}

/** Packages that get published: under packages/ and not `private: true`. */
export function publishablePackages(root = WORKSPACE_ROOT) {
  const packagesDir = join(root, 'packages');
  return workspacePackages(root).filter((p) => dirname(p.dir) === packagesDir && p.manifest.private !== true);
}

/**
 * Names of the workspace packages `name` needs at run time (dependencies, peer and optional
 * dependencies, transitively), not including `name` itself.
 */
export function workspaceDependencyClosure(packages, name) {
  const byName = new Map(packages.map((p) => [p.name, p]));
  const out = new Set();
  const visit = (n) => {
    const m = byName.get(n)?.manifest;
    if (!m) throw new Error(`pack-smoke: '${n}' is not a workspace package`);
    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
      for (const dep of Object.keys(m[field] ?? {})) {
        if (byName.has(dep) && dep !== name && !out.has(dep)) {
          out.add(dep);
          visit(dep);
        }
      }
    }
  };
  visit(name);
  return [...out];
}

// ---- README example ---------------------------------------------------------------------------

/**
 * The first ```js (or ```javascript / ```mjs) block after a line `<!-- example -->`, and the lines it
 * states it prints (`// prints: <line>` comments, in order).
 * @returns {{ code: string, expected: string[] }}
 */
export function extractReadmeExample(markdown) {
  const lines = markdown.split(/\r?\n/);
  const marker = lines.findIndex((l) => l.trim() === '<!-- example -->');
  if (marker < 0) throw new Error('README has no `<!-- example -->` line before its example');
  const open = lines.findIndex((l, i) => i > marker && /^```(js|javascript|mjs)\s*$/.test(l.trim()));
  if (open < 0) throw new Error('README has no ```js block after `<!-- example -->`');
  const close = lines.findIndex((l, i) => i > open && l.trim() === '```');
  if (close < 0) throw new Error('README example block is not closed');
  const body = lines.slice(open + 1, close);
  const expected = [];
  for (const l of body) {
    const m = /\/\/\s*prints:\s?(.*)$/.exec(l);
    if (m) expected.push(m[1].trimEnd());
  }
  if (expected.length === 0) throw new Error('README example states no output: add `// prints: <line>` comments');
  return { code: body.join('\n') + '\n', expected };
}

// ---- tarballs ---------------------------------------------------------------------------------

/**
 * Entries of a .tgz (npm tarballs are ustar, with pax headers for long names), path -> contents.
 * @returns {Map<string, Buffer>}
 */
export function readTarball(file) {
  const buf = gunzipSync(readFileSync(file));
  const entries = new Map();
  const str = (b, s, n) => b.subarray(s, s + n).toString('utf8').replace(/\0.*$/s, '');
  let pax = {};
  for (let off = 0; off + 512 <= buf.length; ) {
    const header = buf.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const size = parseInt(str(header, 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(header[156] || 48);
    const prefix = str(header, 345, 155);
    let name = str(header, 0, 100);
    if (prefix) name = `${prefix}/${name}`;
    const body = buf.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      pax = {};
      for (const rec of body.toString('utf8').split('\n')) {
        const m = /^\d+ ([^=]+)=(.*)$/.exec(rec);
        if (m) pax[m[1]] = m[2];
      }
      continue;
    }
    if (type === 'L') {
      // GNU long name: the body is the next entry's path
      pax = { path: body.toString('utf8').replace(/\0.*$/s, '') };
      continue;
    }
    if (type === 'g') continue;
    if (pax.path) name = pax.path;
    pax = {};
    if (type === '0' || type === '\0' || type === '7') entries.set(name, Buffer.from(body));
  }
  return entries;
}

const TEST_FILE = /(^|\/)(test|tests|__tests__|__fixtures__)\/|\.(test|spec)\.[cm]?[jt]sx?$|\.test-results\//;

/**
 * What is wrong with a packed package (empty when nothing is): required files, no tests, no
 * workspace-only export condition, `types` first in every export entry, export targets present.
 */
export function checkTarball(entries) {
  const problems = [];
  const files = [...entries.keys()].map((p) => p.replace(/^package\//, ''));
  for (const required of ['package.json', 'dist/index.js', 'dist/index.d.ts']) {
    if (!files.includes(required)) problems.push(`missing ${required}`);
  }
  if (!files.some((f) => /^readme(\.md)?$/i.test(f))) problems.push('missing README');
  const tests = files.filter((f) => TEST_FILE.test(f)).sort();
  if (tests.length) problems.push(`contains test files: ${tests.slice(0, 5).join(', ')}${tests.length > 5 ? ', ...' : ''}`);
  const raw = entries.get('package/package.json');
  if (!raw) return problems;
  const manifest = JSON.parse(raw.toString('utf8'));
  // Scripts may name the condition (tsx --conditions=...); export maps must not.
  for (const field of ['exports', 'imports', 'publishConfig']) {
    if (hasKey(manifest[field], SOURCE_CONDITION)) problems.push(`packed package.json ${field} still has the '${SOURCE_CONDITION}' condition`);
  }
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
    for (const [dep, range] of Object.entries(manifest[field] ?? {})) {
      if (String(range).startsWith('workspace:')) problems.push(`packed package.json ${field}.${dep} is still '${range}'`);
    }
  }
  const walk = (node, where) => {
    if (typeof node === 'string') {
      if (!node.includes('*') && !files.includes(node.replace(/^\.\//, ''))) problems.push(`exports ${where} -> ${node} is not in the tarball`);
      return;
    }
    if (!node || typeof node !== 'object') return;
    const keys = Object.keys(node);
    if (keys.includes('types') && keys[0] !== 'types') problems.push(`exports ${where}: 'types' must come first`);
    for (const k of keys) walk(node[k], where ? `${where}.${k}` : k);
  };
  walk(manifest.exports, '');
  return problems;
}

function hasKey(node, key) {
  if (!node || typeof node !== 'object') return false;
  return Object.entries(node).some(([k, v]) => k === key || hasKey(v, key));
}

// ---- commands ---------------------------------------------------------------------------------

function run(cmd, args, opts) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.error) throw r.error;
  return r;
}

function mustRun(cmd, args, opts) {
  const r = run(cmd, args, opts);
  if (r.status !== 0) {
    throw new Error(`\`${[cmd, ...args].join(' ')}\` in ${opts.cwd} exited ${r.status}\n${r.stdout}\n${r.stderr}`.trimEnd());
  }
  return r;
}

/** pnpm at the version the root package.json pins: from PATH when it matches, else through npx. */
export function pnpmCommand(root = WORKSPACE_ROOT) {
  const pinned = /^pnpm@(.+)$/.exec(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager ?? '')?.[1];
  const onPath = spawnSync('pnpm', ['--version'], { encoding: 'utf8' });
  if (!onPath.error && onPath.status === 0 && (!pinned || onPath.stdout.trim() === pinned)) return ['pnpm'];
  return ['npx', '-y', `pnpm@${pinned ?? 'latest'}`];
}

/** Runs the package's `build` script (tsc -p tsconfig.build.json). */
export function buildPackage(pkg, pnpm = pnpmCommand()) {
  if (!pkg.manifest.scripts?.build) throw new Error(`${pkg.name} has no build script`);
  mustRun(pnpm[0], [...pnpm.slice(1), 'run', 'build'], { cwd: pkg.dir });
}

/** `pnpm pack` into `dest`; returns the tarball's path. */
export function packPackage(pkg, dest, pnpm = pnpmCommand()) {
  const before = new Set(readdirSync(dest));
  mustRun(pnpm[0], [...pnpm.slice(1), 'pack', '--pack-destination', dest], { cwd: pkg.dir });
  const made = readdirSync(dest).filter((f) => f.endsWith('.tgz') && !before.has(f));
  if (made.length !== 1) throw new Error(`pnpm pack of ${pkg.name} made ${made.length} tarballs in ${dest}`);
  return join(dest, made[0]);
}

/** Installs tarballs with plain npm into `dir` (an empty consumer project). */
export function installTarballs(tarballs, dir) {
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'pack-smoke-consumer', version: '0.0.0', private: true, type: 'module' }, null, 2));
  mustRun('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...tarballs], { cwd: dir });
}

/** Runs `code` as `example.mjs` in `dir` with node. */
export function runExample(dir, code, timeoutMs = 120_000) {
  writeFileSync(join(dir, 'example.mjs'), code);
  // As in a plain terminal pipe: test runners set FORCE_COLOR, which would colour console.log's numbers.
  const env = { ...process.env, NO_COLOR: '1', NODE_DISABLE_COLORS: '1' };
  delete env.FORCE_COLOR;
  const r = run(process.execPath, ['example.mjs'], { cwd: dir, timeout: timeoutMs, env });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Compares the example's stdout with its `// prints:` lines; returns a problem or null. */
export function compareOutput(stdout, expected) {
  const actual = stdout.replace(/\r\n/g, '\n').replace(/\n$/, '').split('\n').map((l) => l.trimEnd());
  if (actual.length === expected.length && actual.every((l, i) => l === expected[i])) return null;
  return `README example output differs.\n--- expected (from // prints:)\n${expected.join('\n')}\n--- actual stdout\n${actual.join('\n')}`;
}

/**
 * Builds (unless `build` is false) and packs each of `targets` once into `dest`, so several checks
 * (publint, attw, the install smoke test) share one tarball per package.
 * @returns {Map<string, string>} package name -> tarball path
 */
export function packAll(targets, dest, { build = true, pnpm = pnpmCommand() } = {}) {
  const tarballs = new Map();
  for (const pkg of targets) {
    if (build) buildPackage(pkg, pnpm);
    tarballs.set(pkg.name, packPackage(pkg, dest, pnpm));
  }
  return tarballs;
}

/**
 * Packs `pkg` (and its workspace dependencies), installs it alone into an empty temp folder and runs
 * its README example. With `tarballs` (from `packAll`), uses those instead of building and packing.
 * @returns {{ name: string, tarball: string, files: string[], problems: string[], example: ReturnType<typeof runExample>, expected: string[], dir: string }}
 */
export function smokePackage(pkg, { packages = workspacePackages(), build = true, pnpm = pnpmCommand(), keep = false, tarballs = undefined } = {}) {
  const work = mkdtempSync(join(tmpdir(), `pack-smoke-${basename(pkg.dir)}-`));
  try {
    const tarDir = join(work, 'tarballs');
    const appDir = join(work, 'app');
    for (const d of [tarDir, appDir]) mkdirSync(d, { recursive: true });
    const deps = workspaceDependencyClosure(packages, pkg.name).map((n) => packages.find((p) => p.name === n));
    const packed = (p) => {
      const t = tarballs?.get(p.name);
      if (tarballs && !t) throw new Error(`pack-smoke: no tarball for ${p.name} (a dependency of ${pkg.name}); is it private?`);
      return t ?? packPackage(p, tarDir, pnpm);
    };
    if (build && !tarballs) for (const p of [...deps, pkg]) buildPackage(p, pnpm);
    const tarball = packed(pkg);
    const depTarballs = deps.map(packed);
    const entries = readTarball(tarball);
    const problems = checkTarball(entries);
    const { code, expected } = extractReadmeExample(readFileSync(join(pkg.dir, 'README.md'), 'utf8'));
    installTarballs([tarball, ...depTarballs], appDir);
    const example = runExample(appDir, code);
    if (example.status !== 0) problems.push(`README example exited ${example.status ?? example.signal}\n${example.stderr}`);
    else {
      const diff = compareOutput(example.stdout, expected);
      if (diff) problems.push(diff);
    }
    return { name: pkg.name, tarball: basename(tarball), files: [...entries.keys()], problems, example, expected, dir: work };
  } finally {
    if (!keep) rmSync(work, { recursive: true, force: true });
  }
}

// ---- CLI --------------------------------------------------------------------------------------

function main(argv) {
  const build = !argv.includes('--no-build');
  const keep = argv.includes('--keep');
  const names = argv.filter((a) => !a.startsWith('--'));
  const packages = workspacePackages();
  let targets = publishablePackages();
  if (names.length) {
    const unknown = names.filter((n) => !targets.some((p) => p.name === n));
    if (unknown.length) throw new Error(`not publishable workspace packages: ${unknown.join(', ')}`);
    targets = targets.filter((p) => names.includes(p.name));
  }
  const pnpm = pnpmCommand();
  let failed = 0;
  for (const pkg of targets) {
    const t0 = performance.now();
    const r = smokePackage(pkg, { packages, build, pnpm, keep });
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    if (r.problems.length) {
      failed++;
      console.log(`FAIL ${r.name} (${r.tarball}, ${secs} s)\n  ${r.problems.join('\n  ')}`);
    } else console.log(`ok   ${r.name} (${r.tarball}, ${r.files.length} files, example printed ${r.expected.length} lines, ${secs} s)`);
    if (keep) console.log(`     kept ${r.dir}`);
  }
  return failed ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}

#!/usr/bin/env node
/**
 * Lints packed tarballs the way a consumer's tools see them:
 * - publint in strict mode (warnings count as errors): exports map, files, formats, engines.
 * - @arethetypeswrong/cli (attw) with the `esm-only` profile: types resolve under node16 (from
 *   ESM) and bundler resolution.
 *
 * Why ESM only (no CommonJS build): every package needs Node >= 20.11 (`engines`), where ESM is
 * the native format and `require(esm)` is arriving (unflagged in 20.19 / 22.12); TypeScript,
 * Vite, webpack and esbuild consumers resolve ESM. A second CJS copy would bring the dual-package
 * hazard: two instances of `@methodzoo/core` mean two backend registries, two `Tensor` classes
 * (so `instanceof` and the autograd tape break across them) and two memory counters. So attw's
 * `esm-only` profile ignores exactly the two resolutions a CJS-only consumer uses, `node10` and
 * `node16` from CommonJS; everything else (types present, types match the JS format, no
 * fallback conditions, named exports) must be clean.
 *
 * Usage: node tools/publint-attw/publint-attw.mjs [--no-build] [package-name ...]
 * (builds and packs every publishable package with pnpm, then lints each tarball).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { buildPackage, packPackage, pnpmCommand, publishablePackages } from '../pack-smoke/pack-smoke.mjs';

/** attw's profile for ESM-only packages: these resolution kinds are CommonJS consumers'. */
export const ATTW_PROFILE = 'esm-only';
export const ATTW_IGNORED_RESOLUTIONS = ['node10', 'node16-cjs'];

const require = createRequire(import.meta.url);

/** The attw CLI entry of the pinned @arethetypeswrong/cli (run with this node). */
export function attwBin() {
  const pkgJson = require.resolve('@arethetypeswrong/cli/package.json');
  const bin = JSON.parse(readFileSync(pkgJson, 'utf8')).bin;
  return join(dirname(pkgJson), typeof bin === 'string' ? bin : bin.attw);
}

/**
 * publint --strict on a tarball.
 * @returns {Promise<{ errors: string[], suggestions: string[] }>} errors: errors and warnings (strict)
 */
export async function publintTarball(tarball) {
  const data = readFileSync(tarball);
  const { messages, pkg } = await publint({
    pack: { tarball: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) },
    strict: true,
    level: 'suggestion',
  });
  const text = (m) => `publint ${m.type} ${m.code}: ${formatMessage(m, pkg, { color: false }) ?? JSON.stringify(m)}`;
  return {
    errors: messages.filter((m) => m.type !== 'suggestion').map(text),
    suggestions: messages.filter((m) => m.type === 'suggestion').map(text),
  };
}

/**
 * attw on a tarball with the esm-only profile.
 * @returns {{ errors: string[], ignored: string[], exitCode: number | null, analysis: any }}
 */
export function attwTarball(tarball, { timeoutMs = 120_000 } = {}) {
  const r = spawnSync(process.execPath, [attwBin(), tarball, '--profile', ATTW_PROFILE, '--format', 'json', '--no-color'], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    timeout: timeoutMs,
  });
  if (r.error) throw r.error;
  let json;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    return { errors: [`attw exited ${r.status ?? r.signal} without a JSON report:\n${r.stdout}\n${r.stderr}`.trimEnd()], ignored: [], exitCode: r.status, analysis: null };
  }
  const problems = json.analysis?.problems ?? [];
  // Resolution problems name an entry point and resolution kind; file problems (FalseCJS, FalseESM)
  // name the types and implementation files.
  const text = (p) =>
    p.entrypoint !== undefined
      ? `attw ${p.kind}: entrypoint '${p.entrypoint}'${p.resolutionKind ? ` under ${p.resolutionKind}` : ''}`
      : `attw ${p.kind}: ${[p.typesFileName, p.implementationFileName].filter(Boolean).map((f) => f.replace(/^\/node_modules\/(@[^/]+\/)?[^/]+\//, '')).join(' vs ')}`;
  const ignored = problems.filter((p) => ATTW_IGNORED_RESOLUTIONS.includes(p.resolutionKind));
  const errors = problems.filter((p) => !ATTW_IGNORED_RESOLUTIONS.includes(p.resolutionKind)).map(text);
  // attw reports nothing at all for a package without types (and exits 0): we ship our own.
  if (json.analysis && json.analysis.types === false) errors.push('attw: the package ships no types (no .d.ts reachable from its entry points)');
  else if (json.analysis?.types && json.analysis.types.kind !== 'included') errors.push(`attw: types come from ${json.analysis.types.kind}, not from the package itself`);
  // The CLI's own verdict must agree (it applies the profile the same way).
  if (r.status !== 0 && errors.length === 0) errors.push(`attw exited ${r.status}: ${r.stderr.trim() || 'see its report'}`);
  return { errors, ignored: ignored.map(text), exitCode: r.status, analysis: json.analysis };
}

/** Both linters on one tarball: the list of what is wrong (empty when nothing is). */
export async function lintTarball(tarball) {
  const p = await publintTarball(tarball);
  const a = attwTarball(tarball);
  return { errors: [...p.errors, ...a.errors], suggestions: p.suggestions, attwIgnored: a.ignored };
}

async function main(argv) {
  const build = !argv.includes('--no-build');
  const names = argv.filter((a) => !a.startsWith('--'));
  let targets = publishablePackages();
  if (names.length) targets = targets.filter((p) => names.includes(p.name));
  const pnpm = pnpmCommand();
  const dest = mkdtempSync(join(tmpdir(), 'publint-attw-'));
  let failed = 0;
  try {
    for (const pkg of targets) {
      if (build) buildPackage(pkg, pnpm);
      const tarball = packPackage(pkg, dest, pnpm);
      const r = await lintTarball(tarball);
      if (r.errors.length) failed++;
      console.log(`${r.errors.length ? 'FAIL' : 'ok  '} ${pkg.name}`);
      for (const e of r.errors) console.log(`  ${e}`);
      for (const s of r.suggestions) console.log(`  (suggestion) ${s}`);
    }
  } finally {
    rmSync(dest, { recursive: true, force: true });
  }
  return failed ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}

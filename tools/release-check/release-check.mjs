#!/usr/bin/env node
/**
 * Pre-publish check: refuses a release that would be broken on the registry, with a message that
 * says what to do. Run by `pnpm release` before `changeset publish`, and on its own as
 * `pnpm release:check` (against the registry npm is configured for: NPM_CONFIG_REGISTRY or .npmrc).
 *
 * It fails when
 * - changesets would not see a package the way it is published: a folder under packages/ that is
 *   not a workspace package, a publishable package listed in `ignore` (never versioned, yet
 *   `changeset publish` still publishes it), a name in `ignore`/`fixed`/`linked` that matches no
 *   package or names a private one, or a pending changeset that names an unknown or private package;
 * - changesets are still pending (publish would ship the old versions: run `changeset version`),
 *   or a package to publish is still at the 0.0.0 placeholder (no changeset ever versioned it);
 * - a package about to be published has no build: no dist/, an export target missing, or a source
 *   file newer than its build;
 * - a package about to be published depends on a workspace package that will not be on the
 *   registry: a private one, or one whose range no published or to-be-published version meets.
 *
 * "About to be published" is what `changeset publish` does: every publishable package (under
 * packages/, not `private`) whose current version is not on the registry.
 *
 * Usage: node tools/release-check/release-check.mjs [--registry URL] [--root DIR]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import semver from 'semver';
import { workspacePackages } from '../pack-smoke/pack-smoke.mjs';

export const WORKSPACE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DEP_FIELDS = ['dependencies', 'peerDependencies', 'optionalDependencies'];

/**
 * Versions of `name` on the registry npm is configured for (or `registry`); [] when the package
 * is not there at all. Throws when the registry cannot be asked (never reads "unknown" as "absent").
 */
export function npmRegistryVersions(registry) {
  return (name) => {
    const args = ['view', name, 'versions', '--json', ...(registry ? ['--registry', registry] : [])];
    const r = spawnSync('npm', args, { encoding: 'utf8', timeout: 60_000 });
    if (r.error) throw new Error(`release-check: could not ask the registry${registry ? ` ${registry}` : ''} about ${name}: \`npm ${args.join(' ')}\` ${r.error.code === 'ETIMEDOUT' ? 'timed out after 60 s' : r.error.message}`);
    const out = (r.stdout || '').trim();
    if (r.status !== 0) {
      if (/E404|404 Not Found|is not in this registry/.test(out + r.stderr)) return [];
      throw new Error(`release-check: \`npm ${args.join(' ')}\` failed (${r.status}):\n${r.stderr || out}`);
    }
    if (!out) return [];
    const v = JSON.parse(out);
    return Array.isArray(v) ? v : [v];
  };
}

/** `ignore`/`fixed`/`linked` entries are package names or globs (`@scope/*`). */
function matches(pattern, name) {
  if (!pattern.includes('*')) return pattern === name;
  const re = new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('.*')}$`);
  return re.test(name);
}

function newestMtime(dir, skip = () => false) {
  let newest = 0;
  let file = '';
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (skip(p)) continue;
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const t = statSync(p).mtimeMs;
        if (t > newest) [newest, file] = [t, p];
      }
    }
  };
  if (existsSync(dir)) walk(dir);
  return { newest, file };
}

/** Export targets a consumer resolves: strings in the published exports map (no globs). */
function exportTargets(manifest) {
  const out = [];
  const walk = (n) => {
    if (typeof n === 'string') {
      if (!n.includes('*')) out.push(n);
    } else if (n && typeof n === 'object') for (const v of Object.values(n)) walk(v);
  };
  walk(manifest.publishConfig?.exports ?? manifest.exports);
  for (const f of ['main', 'types', 'module']) {
    const v = manifest.publishConfig?.[f] ?? manifest[f];
    if (typeof v === 'string') out.push(v);
  }
  return [...new Set(out)];
}

/**
 * The range a published manifest will carry for a `workspace:` dependency (pnpm's rewrite), or the
 * range itself for a plain one.
 */
export function publishedRange(range, depVersion) {
  if (!range.startsWith('workspace:')) return range;
  const r = range.slice('workspace:'.length);
  if (r === '*') return depVersion;
  if (r === '^' || r === '~') return `${r}${depVersion}`;
  return r;
}

/**
 * @param {{ root?: string, registryVersions: (name: string) => string[] }} opts
 * @returns {{ problems: string[], toPublish: { name: string, version: string }[], onRegistry: { name: string, version: string }[] }}
 */
export function releaseCheck({ root = WORKSPACE_ROOT, registryVersions }) {
  const problems = [];
  const workspace = workspacePackages(root);
  const byName = new Map(workspace.map((p) => [p.name, p]));
  const packagesDir = join(root, 'packages');
  const rel = (p) => relative(root, p) || '.';
  const publishable = workspace.filter((p) => dirname(p.dir) === packagesDir && p.manifest.private !== true);
  const isPrivate = (p) => p.manifest.private === true;

  // ---- changesets' view of the workspace -----------------------------------------------------
  const configPath = join(root, '.changeset/config.json');
  if (!existsSync(configPath)) problems.push('.changeset/config.json is missing: changesets cannot version or publish anything');
  const config = existsSync(configPath) ? JSON.parse(readFileSync(configPath, 'utf8')) : {};

  if (existsSync(packagesDir)) {
    const inWorkspace = new Set(workspace.map((p) => p.dir));
    for (const e of readdirSync(packagesDir, { withFileTypes: true })) {
      const dir = join(packagesDir, e.name);
      if (e.isDirectory() && existsSync(join(dir, 'package.json')) && !inWorkspace.has(dir)) {
        problems.push(`${rel(dir)} is not a workspace package (pnpm-workspace.yaml does not list it), so changesets never versions or publishes it: add it to pnpm-workspace.yaml's packages`);
      }
    }
  }
  for (const p of workspace) {
    if (!p.name) problems.push(`${rel(p.dir)}/package.json has no name`);
    if (!isPrivate(p) && dirname(p.dir) !== packagesDir) {
      problems.push(`${p.name} (${rel(p.dir)}) is not private but lives outside packages/: changesets would publish it; add "private": true`);
    }
    if (!isPrivate(p) && !semver.valid(p.manifest.version)) problems.push(`${p.name} has no valid version ('${p.manifest.version}')`);
  }
  for (const pattern of config.ignore ?? []) {
    const hit = workspace.filter((p) => matches(pattern, p.name));
    if (hit.length === 0) problems.push(`.changeset/config.json ignore entry '${pattern}' matches no workspace package: remove it or fix the name`);
    for (const p of hit.filter((q) => !isPrivate(q))) {
      problems.push(
        `${p.name} is publishable but listed in .changeset/config.json "ignore": changeset version would never bump it while changeset publish still publishes it; remove it from ignore, or mark the package "private": true`,
      );
    }
  }
  for (const field of ['fixed', 'linked']) {
    for (const group of config[field] ?? []) {
      for (const pattern of group) {
        const hit = workspace.filter((p) => matches(pattern, p.name));
        if (hit.length === 0) problems.push(`.changeset/config.json ${field} entry '${pattern}' matches no workspace package`);
        for (const p of hit.filter(isPrivate)) problems.push(`.changeset/config.json ${field} names ${p.name}, which is private and never published`);
      }
    }
  }

  // Pending changesets: each must name publishable packages; any left means versions were not applied.
  const changesetDir = join(root, '.changeset');
  const pending = existsSync(changesetDir) ? readdirSync(changesetDir).filter((f) => f.endsWith('.md') && f.toLowerCase() !== 'readme.md') : [];
  for (const f of pending) {
    const text = readFileSync(join(changesetDir, f), 'utf8');
    const front = /^---\r?\n([\s\S]*?)\r?\n---/.exec(text)?.[1] ?? '';
    for (const line of front.split(/\r?\n/)) {
      const m = /^\s*['"]?([^'":]+)['"]?\s*:\s*(\w+)/.exec(line);
      if (!m) continue;
      const p = byName.get(m[1]);
      if (!p) problems.push(`.changeset/${f} bumps '${m[1]}', which is not a workspace package`);
      else if (isPrivate(p)) problems.push(`.changeset/${f} bumps ${p.name}, which is private and never released`);
    }
  }
  if (pending.length) {
    problems.push(
      `${pending.length} changeset(s) still pending (${pending.sort().join(', ')}): publishing now would ship the old versions; run \`pnpm changeset version\`, review and commit, then publish`,
    );
  }

  // ---- what changeset publish would publish --------------------------------------------------
  const toPublish = [];
  const onRegistry = [];
  const registry = new Map();
  const versionsOf = (name) => {
    if (!registry.has(name)) registry.set(name, registryVersions(name));
    return registry.get(name);
  };
  for (const p of publishable) {
    (versionsOf(p.name).includes(p.manifest.version) ? onRegistry : toPublish).push(p);
  }
  const publishing = new Set(toPublish.map((p) => p.name));

  for (const p of toPublish) {
    // 0.0.0 is the placeholder of a package that no changeset has versioned yet.
    if (p.manifest.version === '0.0.0') {
      problems.push(`${p.name} is at 0.0.0, never versioned: add a changeset announcing its first release (\`pnpm changeset\`) and run \`pnpm changeset version\``);
    }
    // A build must exist and be current.
    const dist = join(p.dir, 'dist');
    if (!existsSync(dist)) {
      problems.push(`${p.name} has no dist/ build (${rel(dist)}): run \`pnpm build\` before publishing`);
    } else {
      const missing = exportTargets(p.manifest).filter((t) => !t.startsWith('./package.json') && !existsSync(join(p.dir, t)));
      if (missing.length) problems.push(`${p.name}'s build is incomplete: ${missing.join(', ')} missing; run \`pnpm build\``);
      const src = newestMtime(join(p.dir, 'src'));
      const built = newestMtime(dist);
      if (src.newest > built.newest) problems.push(`${p.name}'s dist/ is older than ${rel(src.file)}: run \`pnpm build\` before publishing`);
    }
    // Every workspace dependency must be installable from the registry once this release is out.
    for (const field of DEP_FIELDS) {
      for (const [dep, range] of Object.entries(p.manifest[field] ?? {})) {
        const d = byName.get(dep);
        if (!d) {
          if (String(range).startsWith('workspace:')) problems.push(`${p.name} ${field}.${dep} is '${range}' but ${dep} is not a workspace package`);
          continue;
        }
        if (isPrivate(d)) {
          problems.push(`${p.name} depends on ${dep} (${field}), which is private and never published: installing ${p.name}@${p.manifest.version} would fail; make ${dep} publishable or drop the dependency`);
          continue;
        }
        if (!publishable.includes(d)) {
          problems.push(`${p.name} depends on ${dep}, which is not under packages/ and so never published`);
          continue;
        }
        const target = publishedRange(String(range), d.manifest.version);
        const available = [...versionsOf(dep), ...(publishing.has(dep) ? [d.manifest.version] : [])];
        if (!semver.validRange(target)) problems.push(`${p.name} ${field}.${dep} range '${range}' is not a valid semver range`);
        else if (!available.some((v) => semver.satisfies(v, target))) {
          problems.push(
            `${p.name} depends on ${dep}@${target} (${field}: '${range}'), but no such version is on the registry or in this release (${dep} is at ${d.manifest.version}${available.length ? `; registry has ${versionsOf(dep).join(', ') || 'none'}` : ''}): the published ${p.name} could not be installed`,
          );
        }
      }
    }
  }

  return {
    problems,
    toPublish: toPublish.map((p) => ({ name: p.name, version: p.manifest.version })),
    onRegistry: onRegistry.map((p) => ({ name: p.name, version: p.manifest.version })),
  };
}

function main(argv) {
  const at = (flag) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const registry = at('--registry');
  const root = resolve(at('--root') ?? WORKSPACE_ROOT);
  const r = releaseCheck({ root, registryVersions: npmRegistryVersions(registry) });
  const list = (xs) => xs.map((x) => `${x.name}@${x.version}`).join(', ') || 'none';
  console.log(`release-check: to publish: ${list(r.toPublish)}`);
  console.log(`release-check: already on the registry: ${list(r.onRegistry)}`);
  if (r.problems.length) {
    console.error(`release-check: FAILED, nothing may be published until these are fixed:\n${r.problems.map((p) => `  - ${p}`).join('\n')}`);
    return 1;
  }
  console.log('release-check: ok');
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (e) {
    console.error(`release-check: FAILED: ${e instanceof Error ? e.message : e}`);
    process.exitCode = 1;
  }
}

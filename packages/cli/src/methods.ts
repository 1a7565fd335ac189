/**
 * The methods the CLI knows. A method package is loaded on demand with a dynamic `import()` of
 * `<package>/repro` (or, when the package has no such export, of the package, taking its `repro`
 * export), so the CLI runs with whichever method packages are installed; a missing one is reported,
 * not a crash. A method package that lands adds itself to this CLI's `dependencies` (so it resolves
 * from here) and its name below.
 */
import type { ReproEntry } from '@methodzoo/core';

export interface MethodSource {
  /** The name on the command line (`methodzoo repro <name>`). */
  name: string;
  /** The npm package that exports the `repro` entry. */
  package?: string;
  /** Loads the module holding the entry (built-ins, tests); otherwise `package` is imported. */
  load?: () => Promise<unknown>;
}

/** Method packages planned in the architecture notes, by directory name under packages/. */
const PACKAGES = ['asr', 'lsas', 'stepnet', 'mirror-gradient', 'attsolver', 'scalelong', 'sur-adapter', 'clot', 'moextend', 'animatezoo'];

export const METHODS: MethodSource[] = [
  // The core demo as a reproduction, until the method packages have their own.
  { name: 'mnist-cnn', package: '@methodzoo/cli', load: () => import('./builtin/mnist-cnn.js') },
  ...PACKAGES.map((name) => ({ name, package: `@methodzoo/${name}` })),
];

export type LoadedMethod =
  | { name: string; status: 'ok'; entry: ReproEntry; source: MethodSource }
  | { name: string; status: 'missing'; message: string; source: MethodSource }
  | { name: string; status: 'error'; message: string; source: MethodSource };

function errorCode(e: unknown): string | undefined {
  return (e as { code?: string } | null)?.code;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The module is absent (as opposed to present but failing to load). */
function isNotFound(e: unknown, pkg: string): boolean {
  const code = errorCode(e);
  const msg = messageOf(e);
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && (msg.includes(`'${pkg}'`) || msg.includes(`'${pkg}/repro'`) || msg.includes(`"${pkg}"`));
}

/** Checks the shape of a loaded entry, so a broken package fails with a message that names it. */
export function asReproEntry(value: unknown, where: string): ReproEntry {
  const e = value as Partial<ReproEntry> | null | undefined;
  const problems: string[] = [];
  if (!e || typeof e !== 'object') throw new Error(`${where} does not export a repro entry (got ${value === null ? 'null' : typeof value})`);
  if (typeof e.name !== 'string' || !e.name) problems.push('name');
  if (typeof e.title !== 'string') problems.push('title');
  if (typeof e.claim !== 'string') problems.push('claim');
  if (!e.paper || typeof e.paper.title !== 'string') problems.push('paper.title');
  if (typeof e.run !== 'function') problems.push('run()');
  if (problems.length) throw new Error(`${where}: the repro entry lacks ${problems.join(', ')}`);
  return e as ReproEntry;
}

function entryOf(mod: unknown): unknown {
  const m = mod as { repro?: unknown; default?: unknown } | null;
  return m?.repro ?? m?.default;
}

async function importEntry(source: MethodSource): Promise<ReproEntry> {
  if (source.load) return asReproEntry(entryOf(await source.load()), source.package ?? source.name);
  const pkg = source.package!;
  let mod: unknown;
  try {
    mod = await import(`${pkg}/repro`);
  } catch (e) {
    // the package exists but has no ./repro export: take the repro export of its main entry
    if (errorCode(e) !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') throw e;
    mod = await import(pkg);
  }
  return asReproEntry(entryOf(mod), pkg);
}

export async function loadMethod(source: MethodSource): Promise<LoadedMethod> {
  const pkg = source.package ?? source.name;
  try {
    const entry = await importEntry(source);
    if (entry.name !== source.name) return { name: source.name, status: 'error', message: `${pkg}: its repro entry is named '${entry.name}', expected '${source.name}'`, source };
    return { name: source.name, status: 'ok', entry, source };
  } catch (e) {
    if (source.package && isNotFound(e, source.package)) return { name: source.name, status: 'missing', message: `package ${source.package} is not installed`, source };
    return { name: source.name, status: 'error', message: `${pkg} failed to load: ${messageOf(e)}`, source };
  }
}

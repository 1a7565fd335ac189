/**
 * `methodzoo` commands: list, repro, bench, report. `main(argv, context)` returns the exit code
 * (0 ok, 1 a run or a command failed, 2 a usage error) and writes only to the context's streams,
 * so tests run it in-process with their own methods and folders.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as core from '@methodzoo/core';
import type { ReproOptions, ReproResult } from '@methodzoo/core';
import { loadMethod, METHODS, type LoadedMethod, type MethodSource } from './methods.js';
import { createProgress } from './progress.js';
import { verdict, writeIndex, writeMethodReport, type ResultsFile } from './report.js';
import { textTable } from './table.js';

export interface CliContext {
  /** The methods the CLI knows (default: `METHODS`). */
  methods?: MethodSource[];
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /** Folder that relative paths (`--out`) and the workspace search start from. */
  cwd?: string;
  /** Progress bars (true) or plain lines (false); default: whether stderr is a terminal. */
  tty?: boolean;
}

export const USAGE = `Usage: methodzoo <command> [options]

Commands:
  list                                 the methods, their papers and claims
  repro <method...> | --all            reproduce the claims, write reports/<method>/ and reports/index.md
      --quick                          small settings: every method in a few minutes on 2 cores
      --seed N                         seed of a single-seed run (default 0)
      --seeds 0,1,2                    repeat over these seeds (metrics as mean ± std)
      --backend NAME                   compute backend (default: the fastest that initialises)
      --out DIR                        reports folder (default: reports)
  bench [<package>]                    run a package's benchmarks (all packages' without one)
  report [--out DIR]                   rebuild DIR/index.md from every DIR/<method>/results.json
  help                                 this text
`;

class UsageError extends Error {}

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  ctx: CliContext;
  cwd: string;
}

export async function main(argv: string[], ctx: CliContext = {}): Promise<number> {
  const stdout = ctx.stdout ?? process.stdout;
  const stderr = ctx.stderr ?? process.stderr;
  const io: Io = { out: (s) => stdout.write(`${s}\n`), err: (s) => stderr.write(`${s}\n`), ctx, cwd: ctx.cwd ?? process.cwd() };
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'list':
        return await list(rest, io);
      case 'repro':
        return await repro(rest, io);
      case 'bench':
        return await bench(rest, io);
      case 'report':
        return report(rest, io);
      case 'help':
      case '--help':
      case '-h':
        stdout.write(USAGE);
        return 0;
      case undefined:
        stderr.write(USAGE);
        return 2;
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`methodzoo: ${(e as Error).message}`);
      if (e instanceof UsageError && e.message.startsWith('unknown command')) stderr.write(`\n${USAGE}`);
      return 2;
    }
    throw e;
  }
}

function methodsOf(io: Io): MethodSource[] {
  return io.ctx.methods ?? METHODS;
}

// ---- list ----------------------------------------------------------------------------------------

async function list(args: string[], io: Io): Promise<number> {
  parseArgs({ args, options: {}, allowPositionals: false });
  const loaded = await Promise.all(methodsOf(io).map(loadMethod));
  const rows = loaded.map((m) =>
    m.status === 'ok'
      ? [m.name, 'ready', m.entry.paper.title, m.entry.claim]
      : [m.name, m.status === 'missing' ? 'not installed' : 'load error', '', m.message],
  );
  io.out(textTable({ columns: ['method', 'status', 'paper', 'claim'], rows }));
  return 0;
}

// ---- repro ---------------------------------------------------------------------------------------

function parseSeed(s: string, flag: string): number {
  if (!/^-?\d+$/.test(s.trim())) throw new UsageError(`${flag} expects integers, got '${s}'`);
  return Number(s);
}

/**
 * Makes `name` the current backend. A backend core does not know yet is registered by importing
 * its package (the one core's error names, else `@methodzoo/backend-<name>`) first.
 */
async function selectBackend(name: string): Promise<string> {
  try {
    return (await core.setBackendAsync(name)).name;
  } catch (first) {
    const message = first instanceof Error ? first.message : String(first);
    if (!message.includes('is not registered')) throw new UsageError(message);
    const pkg = /comes with (@?[\w./-]+)/.exec(message)?.[1] ?? `@methodzoo/backend-${name}`;
    try {
      await import(pkg);
    } catch (e) {
      throw new UsageError(`${message}; importing ${pkg} to register it failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    }
    try {
      return (await core.setBackendAsync(name)).name;
    } catch (e) {
      throw new UsageError(e instanceof Error ? e.message : String(e));
    }
  }
}

interface Outcome {
  name: string;
  status: 'ok' | 'failed' | 'skipped';
  held?: string;
  seconds?: number;
  report?: string;
  message?: string;
}

async function repro(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      all: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      seed: { type: 'string' },
      seeds: { type: 'string' },
      backend: { type: 'string' },
      out: { type: 'string', default: 'reports' },
    },
  });
  const sources = methodsOf(io);
  const known = sources.map((m) => m.name);
  if (values.all && positionals.length) throw new UsageError('give method names or --all, not both');
  if (!values.all && positionals.length === 0) throw new UsageError(`name a method or pass --all; known methods: ${known.join(', ')}`);
  const unknown = positionals.filter((p) => !known.includes(p));
  if (unknown.length) throw new UsageError(`unknown method${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `'${u}'`).join(', ')}; known methods: ${known.join(', ')}`);
  const seeds = values.seeds !== undefined ? values.seeds.split(',').map((s) => parseSeed(s, '--seeds')) : undefined;
  if (seeds && seeds.length === 0) throw new UsageError('--seeds needs at least one seed');
  const seed = values.seed !== undefined ? parseSeed(values.seed, '--seed') : (seeds?.[0] ?? 0);
  const backend = values.backend !== undefined ? await selectBackend(values.backend) : undefined;
  // without --backend: the highest-priority registered backend that initialises (asynchronous ones too)
  if (backend === undefined) await core.initBackends();
  const outRoot = resolve(io.cwd, values.out);
  const chosen = values.all ? sources : positionals.map((p) => sources.find((s) => s.name === p)!);

  // load everything first, so absent packages are reported before the long runs
  const loaded = await Promise.all(chosen.map(loadMethod));
  const outcomes: Outcome[] = loaded.map((method) => {
    if (method.status === 'ok') return { name: method.name, status: 'ok' };
    // with --all a method whose package is absent is skipped; named explicitly, it fails
    const skip = values.all && method.status === 'missing';
    io.err(`${skip ? 'skipped' : 'failed'} ${method.name}: ${method.message}`);
    return { name: method.name, status: skip ? 'skipped' : 'failed', message: method.message };
  });
  for (const [i, method] of loaded.entries()) {
    if (method.status !== 'ok') continue;
    const options: ReproOptions = { quick: values.quick, seed, ...(seeds ? { seeds } : {}), ...(backend ? { backend } : {}), outDir: join(outRoot, method.name) };
    outcomes[i] = await runOne(method, options, io);
  }

  const index = writeIndex(outRoot);
  for (const p of index.problems) io.err(`report index: skipped ${p}`);
  io.out('');
  io.out(
    textTable({
      columns: ['method', 'status', 'claim held', 'time (s)', 'report'],
      rows: outcomes.map((o) => [o.name, o.status, o.held ?? '', o.seconds ?? null, o.report ?? o.message ?? '']),
    }),
  );
  io.out(`index: ${relative(io.cwd, index.path) || index.path}`);
  return outcomes.some((o) => o.status === 'failed') ? 1 : 0;
}

async function runOne(method: Extract<LoadedMethod, { status: 'ok' }>, options: ReproOptions, io: Io): Promise<Outcome> {
  const { entry } = method;
  io.out('');
  io.out(`== ${entry.name}: ${entry.title}`);
  io.out(`claim: ${entry.claim}`);
  const progress = createProgress({ stream: io.ctx.stderr ?? process.stderr, ...(io.ctx.tty !== undefined ? { tty: io.ctx.tty } : {}), prefix: entry.name });
  mkdirSync(options.outDir, { recursive: true });
  const startedAt = new Date();
  const t0 = performance.now();
  let result: ReproResult | undefined;
  let error: string | undefined;
  try {
    result = await entry.run(options, progress);
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
    io.err(`${entry.name} failed: ${e instanceof Error && e.stack ? e.stack : error}`);
  } finally {
    progress.close();
  }
  const durationSeconds = (performance.now() - t0) / 1000;
  let written: ResultsFile;
  try {
    written = await writeMethodReport({ entry, options, startedAt, durationSeconds, backend: core.backendInfo().current, ...(result ? { result } : {}), ...(error !== undefined ? { error } : {}) }, options.outDir);
  } catch (e) {
    // a result the report cannot show (bad table, plot data) is a failure of the method's run
    const message = `${entry.name}: writing the report failed: ${e instanceof Error ? e.message : String(e)}`;
    io.err(message);
    return { name: entry.name, status: 'failed', seconds: Math.round(durationSeconds * 10) / 10, message };
  }
  if (result) {
    io.out(textTable(result.table));
    io.out(`claim held: ${verdict(written)}${result.claimSummary ? ` (${result.claimSummary})` : ''}`);
  }
  const reportPath = relative(io.cwd, join(options.outDir, 'report.md'));
  io.out(`report: ${reportPath}`);
  return { name: entry.name, status: error === undefined ? 'ok' : 'failed', held: verdict(written), seconds: written.durationSeconds, report: reportPath };
}

// ---- report --------------------------------------------------------------------------------------

function report(args: string[], io: Io): number {
  const { values } = parseArgs({ args, options: { out: { type: 'string', default: 'reports' } } });
  const index = writeIndex(resolve(io.cwd, values.out));
  for (const p of index.problems) io.err(`skipped ${p}`);
  io.out(`${relative(io.cwd, index.path) || index.path}: ${index.results.length} method${index.results.length === 1 ? '' : 's'} (${index.results.map((r) => `${r.name}: ${verdict(r)}`).join(', ') || 'none'})`);
  return index.problems.length ? 1 : 0;
}

// ---- bench ---------------------------------------------------------------------------------------

/** The nearest folder at or above `from` with a pnpm-workspace.yaml, or null. */
export function findWorkspaceRoot(from: string): string | null {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    if (dirname(dir) === dir) return null;
  }
}

interface WorkspacePackage {
  name: string;
  dir: string;
  bench: boolean;
}

function workspacePackages(root: string): WorkspacePackage[] {
  const dir = join(root, 'packages');
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'package.json')))
    .map((e) => {
      const manifest = JSON.parse(readFileSync(join(dir, e.name, 'package.json'), 'utf8')) as { name?: string; scripts?: Record<string, string> };
      return { name: manifest.name ?? e.name, dir: join(dir, e.name), bench: typeof manifest.scripts?.bench === 'string' };
    });
}

function runScript(cwd: string, io: Io): Promise<number> {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  return new Promise((resolvePromise) => {
    const child = spawn(npm, ['run', 'bench'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(io.ctx.stdout ?? process.stdout, { end: false });
    child.stderr.pipe(io.ctx.stderr ?? process.stderr, { end: false });
    child.on('error', (e) => {
      io.err(`methodzoo bench: could not start npm: ${e.message}`);
      resolvePromise(1);
    });
    child.on('close', (code, signal) => resolvePromise(code ?? (signal ? 1 : 0)));
  });
}

async function bench(args: string[], io: Io): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  if (positionals.length > 1) throw new UsageError('bench takes at most one package');
  const root = findWorkspaceRoot(io.cwd);
  if (!root) throw new UsageError(`bench runs the benchmarks of a methodzoo source checkout; no pnpm-workspace.yaml at or above ${io.cwd}`);
  const want = positionals[0];
  if (want === undefined) {
    io.err(`methodzoo bench: every package's benchmarks (npm run bench in ${root})`);
    return runScript(root, io);
  }
  const packages = workspacePackages(root);
  const pkg = packages.find((p) => p.name === want || p.name === `@methodzoo/${want}` || relative(join(root, 'packages'), p.dir) === want);
  const withBench = packages.filter((p) => p.bench).map((p) => p.name.replace(/^@methodzoo\//, ''));
  if (!pkg) throw new UsageError(`unknown package '${want}'; packages with benchmarks: ${withBench.join(', ') || 'none'}`);
  if (!pkg.bench) throw new UsageError(`${pkg.name} has no bench script; packages with benchmarks: ${withBench.join(', ') || 'none'}`);
  io.err(`methodzoo bench: ${pkg.name} (npm run bench in ${relative(root, pkg.dir)})`);
  return runScript(pkg.dir, io);
}

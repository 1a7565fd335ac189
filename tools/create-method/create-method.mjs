#!/usr/bin/env node
/**
 * Scaffolds a method package, packages/<name>/, with the repository's conventions: the package.json
 * exports map (`methodzoo-source` first for the workspace, `types` first for consumers, the same
 * map without the source condition in publishConfig), a `./repro` export implementing core's
 * `ReproEntry` contract (what `methodzoo repro <name>` loads), `files`, `engines`, Nx name and the
 * build/typecheck/test/bench/repro scripts (Nx infers its targets from them), tsconfig and vitest
 * config like core's, src/ test/ bench/ repro/, a README whose example the pack smoke test runs,
 * CHANGELOG.md, LICENSE and a changeset announcing the first release.
 *
 * The scaffold is a small working method, not an empty shell: a residual branch scaled by a
 * coefficient (`y = x + alpha * f(x)`), tested for the invariants a method test asserts (the
 * coefficient at zero is the plain model; gradients reach the branch only when alpha != 0), a
 * reproduction that trains it against its alpha = 0 baseline on the same data and seeds, and a
 * benchmark. Replace it with the paper's method, keeping the shape.
 *
 * Usage: pnpm create-method <name> [--title "Paper title"] [--arxiv 2401.01234] [--root DIR]
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const WORKSPACE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

const camel = (name) => name.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());
const pascal = (name) => camel(name).replace(/^./, (c) => c.toUpperCase());

/** The files of a new method package, path (relative to the package) -> contents. */
export function methodFiles({ name, title, arxiv, license, tsxVersion }) {
  const pkg = `@methodzoo/${name}`;
  const fn = `${camel(name)}Residual`;
  const Mod = `${pascal(name)}Block`;
  const paperLine = arxiv ? `${title} (arXiv:${arxiv})` : title;
  const exportsMap = (source) => ({
    '.': { ...(source ? { 'methodzoo-source': './src/index.ts' } : {}), types: './dist/index.d.ts', default: './dist/index.js' },
    './repro': { ...(source ? { 'methodzoo-source': './src/repro.ts' } : {}), types: './dist/repro.d.ts', default: './dist/repro.js' },
    './package.json': './package.json',
  });
  const manifest = {
    name: pkg,
    version: '0.0.0',
    description: `${title}: building blocks and a small-scale reproduction of the paper's claim.`,
    license: 'MIT',
    type: 'module',
    sideEffects: false,
    exports: exportsMap(true),
    publishConfig: { access: 'public', exports: exportsMap(false) },
    types: './dist/index.d.ts',
    files: ['dist', 'src', 'README.md', 'CHANGELOG.md'],
    engines: { node: '>=20.11' },
    scripts: {
      build: 'tsc -p tsconfig.build.json',
      typecheck: 'tsc -p tsconfig.json --noEmit',
      test: 'vitest run',
      bench: `tsx --conditions=methodzoo-source bench/${name}.bench.ts`,
      repro: 'tsx --conditions=methodzoo-source repro/run.ts',
    },
    nx: { name },
    dependencies: { '@methodzoo/core': 'workspace:^' },
    devDependencies: { tsx: tsxVersion },
  };

  const files = {};
  files['package.json'] = JSON.stringify(manifest, null, 2) + '\n';
  files['tsconfig.json'] = JSON.stringify({ extends: '../../tsconfig.base.json', compilerOptions: { noEmit: true, rootDir: '.' }, include: ['src', 'test', 'bench', 'repro'] }, null, 2) + '\n';
  files['tsconfig.build.json'] = JSON.stringify({ extends: '../../tsconfig.base.json', compilerOptions: { outDir: 'dist', rootDir: 'src', customConditions: [] }, include: ['src'] }, null, 2) + '\n';
  files['vitest.config.ts'] = "import { sharedConfig } from '../../vitest.shared.js';\nexport default sharedConfig;\n";
  files['LICENSE'] = license;
  files['CHANGELOG.md'] = `# ${pkg}\n`;

  files['src/method.ts'] = `/**
 * ${paperLine}.
 *
 * The method's building block. Scaffolded as a residual branch scaled by a coefficient,
 *   y = x + alpha * f(x),
 * so that alpha = 0 is exactly the plain model (the invariant method tests check); replace it with
 * the paper's equations, citing each one where it is implemented.
 */
import { nn, type Generator, type Tensor } from '@methodzoo/core';

/** \`x + alpha * branch(x)\`; with \`alpha === 0\` the branch is not run at all. */
export function ${fn}(x: Tensor, branch: (x: Tensor) => Tensor, alpha: number): Tensor {
  if (alpha === 0) return x;
  return x.add(branch(x).mul(alpha));
}

export interface ${Mod}Options {
  /** Width of the hidden layer of the branch. */
  hidden: number;
  /** Scale of the residual branch; 0 gives the plain (identity) block. */
  alpha: number;
  generator?: Generator;
}

/**
 * A residual block around a two-layer tanh MLP branch.
 *
 * Shape: input [N, features] -> output [N, features].
 */
export class ${Mod} extends nn.Module {
  fc1: nn.Linear;
  fc2: nn.Linear;
  alpha: number;

  constructor(features: number, opts: ${Mod}Options) {
    super();
    this.fc1 = new nn.Linear(features, opts.hidden, { generator: opts.generator });
    this.fc2 = new nn.Linear(opts.hidden, features, { generator: opts.generator });
    this.alpha = opts.alpha;
  }

  forward(x: Tensor): Tensor {
    return ${fn}(x, (h) => this.fc2.call(this.fc1.call(h).tanh()), this.alpha);
  }
}
`;

  files['src/index.ts'] = `/**
 * ${pkg}: ${paperLine}.
 */
export { ${fn}, ${Mod}, type ${Mod}Options } from './method.js';
export { repro } from './repro.js';
`;

  files['src/repro.ts'] = `/**
 * Small-scale reproduction for \`methodzoo repro ${name}\` (core's ReproEntry contract): trains the
 * method and its baseline (alpha = 0) on the same data and seeds and reports the final losses.
 * Scaffolded task: regress y = x^2 on [-1, 1] with a residual block and a linear head; without its
 * branch the model is linear and cannot fit the curve.
 */
import { Generator, linspace, mseLoss, nn, optim, scope, type ReproEntry, type ReproResult } from '@methodzoo/core';
import { ${Mod} } from './method.js';

/** Final training loss of one run. */
export function trainOnce(alpha: number, seed: number, steps: number, onStep?: (loss: number) => void): number {
  return scope(() => {
    const g = new Generator(seed);
    const block = new ${Mod}(1, { hidden: 16, alpha, generator: g });
    const head = new nn.Linear(1, 1, { generator: g });
    const x = linspace(-1, 1, 64).reshape([64, 1]);
    const y = x.mul(x);
    const opt = new optim.SGD([...block.parameters(), ...head.parameters()], { lr: 0.1 });
    let last = Number.NaN;
    for (let i = 0; i < steps; i++) {
      last = scope(() => {
        opt.zeroGrad();
        const loss = mseLoss(head.call(block.call(x)), y);
        loss.backward();
        opt.step();
        return loss.item();
      });
      onStep?.(last);
    }
    return last;
  });
}

export const repro: ReproEntry = {
  name: '${name}',
  title: ${JSON.stringify(title)},
  paper: { title: ${JSON.stringify(title)}${arxiv ? `, arxiv: ${JSON.stringify(arxiv)}` : ''} },
  claim: 'The residual branch fits what the plain model cannot: lower final loss than the alpha = 0 baseline.',
  async run(options, progress): Promise<ReproResult> {
    const steps = options.quick ? 150 : 1500;
    const seeds = options.seeds ?? [options.seed];
    const method: number[] = [];
    const baseline: number[] = [];
    for (const seed of seeds) {
      for (const [alpha, out] of [[1, method], [0, baseline]] as const) {
        const task = progress.task(\`alpha=\${alpha} seed=\${seed}\`, steps);
        out.push(trainOnce(alpha, seed, steps, (loss) => task.tick(1, { loss: loss.toFixed(4) })));
        task.done();
      }
    }
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const claimHolds = mean(method) < mean(baseline);
    return {
      table: {
        columns: ['model', 'final MSE (mean over seeds)'],
        rows: [
          ['baseline (alpha = 0)', Number(mean(baseline).toFixed(5))],
          ['method (alpha = 1)', Number(mean(method).toFixed(5))],
        ],
      },
      metrics: { mseMethod: method, mseBaseline: baseline },
      claimHolds,
      claimSummary: \`final MSE \${mean(method).toFixed(5)} with the branch vs \${mean(baseline).toFixed(5)} without, over \${seeds.length} seed(s)\`,
    };
  },
};

export default repro;
`;

  files[`test/${name}.test.ts`] = `import { describe, expect, it } from 'vitest';
import { Generator, tensor } from '@methodzoo/core';
import { ${fn}, ${Mod} } from '../src/index.js';

describe('${fn}', () => {
  it('adds the scaled branch', () => {
    const y = ${fn}(tensor([1, 2, 3]), (x) => x.mul(2), 0.5);
    expect(y.tolist()).toEqual([2, 4, 6]);
  });

  it('with alpha = 0 is the plain model and does not run the branch', () => {
    const x = tensor([1, -2]);
    let calls = 0;
    const y = ${fn}(x, (h) => {
      calls++;
      return h;
    }, 0);
    expect(y.tolist()).toEqual([1, -2]);
    expect(calls).toBe(0);
  });
});

describe('${Mod}', () => {
  it('keeps the input shape and is the identity at alpha = 0', () => {
    const x = tensor([[0.5], [-1]]);
    const block = new ${Mod}(1, { hidden: 4, alpha: 0, generator: new Generator(0) });
    expect(block.call(x).tolist()).toEqual([[0.5], [-1]]);
  });

  it('sends gradient to the branch only when alpha is not zero', () => {
    const x = tensor([[0.5], [-1]], { requiresGrad: true });
    for (const alpha of [0, 1]) {
      const block = new ${Mod}(1, { hidden: 4, alpha, generator: new Generator(1) });
      block.call(x).sum().backward();
      const g = block.fc1.weight.grad;
      if (alpha === 0) expect(g).toBeFalsy();
      else expect(Math.max(...Array.from(g!.dataSync(), Math.abs))).toBeGreaterThan(0);
    }
  });

  it('has PyTorch-style state-dict names', () => {
    const block = new ${Mod}(2, { hidden: 3, alpha: 1, generator: new Generator(0) });
    expect([...block.stateDict().keys()]).toEqual(['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
  });
});
`;

  files['test/repro.test.ts'] = `import { describe, expect, it } from 'vitest';
import type { ProgressReporter } from '@methodzoo/core';
import { repro } from '../src/repro.js';

const quiet: ProgressReporter = { task: () => ({ tick: () => {}, done: () => {} }), log: () => {} };

describe('repro', () => {
  it('is the ReproEntry the CLI loads as ${name}', () => {
    expect(repro.name).toBe('${name}');
    expect(typeof repro.run).toBe('function');
    expect(repro.paper.title.length).toBeGreaterThan(0);
  });

  it('trains method and baseline on the same seeds and reports both', async () => {
    const r = await repro.run({ quick: true, seed: 0, seeds: [0, 1], outDir: 'reports/${name}' }, quiet);
    expect(r.table.rows).toHaveLength(2);
    const { mseMethod, mseBaseline } = r.metrics as { mseMethod: number[]; mseBaseline: number[] };
    expect(mseMethod).toHaveLength(2);
    expect(mseBaseline).toHaveLength(2);
    // A linear fit of x^2 on [-1, 1] cannot go below the variance it leaves (4/45, about 0.089).
    for (const b of mseBaseline) expect(b).toBeGreaterThan(0.08);
    expect(r.claimHolds).toBe(mseMethod.reduce((a, b) => a + b) < mseBaseline.reduce((a, b) => a + b));
  });
});
`;

  files[`bench/${name}.bench.ts`] = `/**
 * ${pkg} benchmark: median time of a forward + backward of ${Mod} at a small batch, on the current
 * default backend. Prints the medians and writes bench/results/${name}.json.
 *
 *   nx run ${name}:bench            (options: --repeats N, default 5)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendInfo, Generator, randn, scope } from '@methodzoo/core';
import { ${Mod} } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const i = process.argv.indexOf('--repeats');
const repeats = Number(i >= 0 ? process.argv[i + 1] : 5);
if (!Number.isInteger(repeats) || repeats < 1) throw new Error(\`--repeats must be a positive integer, got \${repeats}\`);

const results: { case: string; medianMs: number; repeats: number }[] = [];
for (const [features, hidden, batch] of [[16, 64, 32], [64, 256, 32]] as const) {
  const g = new Generator(0);
  const block = new ${Mod}(features, { hidden, alpha: 1, generator: g });
  const x = randn([batch, features], { generator: g });
  const times: number[] = [];
  for (let r = 0; r <= repeats; r++) {
    const t0 = performance.now();
    scope(() => block.call(x).sum().backward());
    if (r > 0) times.push(performance.now() - t0); // the first run warms up
  }
  times.sort((a, b) => a - b);
  const medianMs = times[Math.floor(times.length / 2)]!;
  results.push({ case: \`features=\${features} hidden=\${hidden} batch=\${batch}\`, medianMs, repeats });
  console.log(\`\${results.at(-1)!.case}: \${medianMs.toFixed(2)} ms (median of \${repeats})\`);
}
const out = resolve(here, 'results/${name}.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ backend: backendInfo().current, results }, null, 2) + '\\n');
console.log(\`wrote \${out}\`);
`;

  files['repro/run.ts'] = `/**
 * Runs the reproduction without the CLI: \`pnpm repro\` (quick settings) or \`pnpm repro -- --full\`.
 * \`methodzoo repro ${name}\` runs the same entry with progress bars, plots and a report.
 */
import type { ProgressReporter } from '@methodzoo/core';
import { repro } from '../src/repro.js';

const full = process.argv.includes('--full');
const progress: ProgressReporter = {
  task(name, total) {
    let n = 0;
    return {
      tick(k = 1) {
        n += k;
      },
      done() {
        console.log(\`\${name}: \${n}/\${total} steps\`);
      },
    };
  },
  log: (message) => console.log(message),
};

const result = await repro.run({ quick: !full, seed: 0, seeds: [0, 1, 2], outDir: \`reports/${name}\` }, progress);
const widths = result.table.columns.map((c, i) => Math.max(c.length, ...result.table.rows.map((r) => String(r[i] ?? '').length)));
const line = (cells: (string | number | null)[]) => cells.map((c, i) => String(c ?? '').padEnd(widths[i]!)).join('  ');
console.log(\`\\n\${repro.title}: \${repro.claim}\\n\`);
console.log(line(result.table.columns));
for (const row of result.table.rows) console.log(line(row));
console.log(\`\\nclaim holds: \${result.claimHolds} (\${result.claimSummary})\`);
`;

  files['README.md'] = `# ${pkg}

${paperLine}: building blocks that drop into your own model, and a small-scale reproduction of the
paper's claim (\`methodzoo repro ${name}\`).

## Install

\`\`\`sh
npm install ${pkg} @methodzoo/core
\`\`\`

## Example

<!-- example -->
\`\`\`js
import { tensor } from '@methodzoo/core';
import { ${fn} } from '${pkg}';

const x = tensor([1, 2, 3]);
console.log(${fn}(x, (h) => h.mul(2), 0.5).tolist().join(', ')); // prints: 2, 4, 6
console.log(${fn}(x, (h) => h.mul(2), 0).tolist().join(', ')); // prints: 1, 2, 3
\`\`\`

## API

- \`${fn}(x, branch, alpha)\`: \`x + alpha * branch(x)\`; \`alpha = 0\` is the plain model.
- \`${Mod}(features, { hidden, alpha, generator })\`: a residual block around a two-layer MLP;
  input and output \`[N, features]\`.
- \`repro\` (also the \`${pkg}/repro\` export): the reproduction entry the \`methodzoo\` CLI runs.

## Reproduction

\`pnpm repro\` (quick) or \`methodzoo repro ${name}\`: trains the method and its alpha = 0 baseline on
the same data and seeds and prints the final losses.

| | paper | this reproduction |
| --- | --- | --- |
| headline metric | (from the paper) | (from \`pnpm repro -- --full\`) |

What differs from the paper: the scale (a toy regression task, seconds on a CPU).

## License

MIT
`;
  return files;
}

/** Writes packages/<name>/ and .changeset/<name>-initial.md under `root`; returns the paths written. */
export function createMethod(name, { root = WORKSPACE_ROOT, title, arxiv } = {}) {
  if (!NAME.test(name ?? '')) throw new Error(`create-method: '${name}' is not a valid package folder name (lower case letters, digits and single dashes, starting with a letter)`);
  const dir = join(root, 'packages', name);
  if (existsSync(dir)) throw new Error(`create-method: ${relative(root, dir)} already exists`);
  const core = join(root, 'packages/core');
  const license = readFileSync(join(core, 'LICENSE'), 'utf8');
  const coreManifest = JSON.parse(readFileSync(join(core, 'package.json'), 'utf8'));
  const tsxVersion = coreManifest.devDependencies?.tsx;
  if (!tsxVersion) throw new Error('create-method: packages/core/package.json has no tsx devDependency to copy the pinned version from');
  const files = methodFiles({ name, title: title ?? name, arxiv, license, tsxVersion });
  const written = [];
  for (const [rel, text] of Object.entries(files)) {
    const p = join(dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
    written.push(p);
  }
  const changeset = join(root, '.changeset', `${name}-initial.md`);
  mkdirSync(dirname(changeset), { recursive: true });
  writeFileSync(changeset, `---\n'@methodzoo/${name}': minor\n---\n\nFirst release of \`@methodzoo/${name}\`: ${title ?? name}.\n`);
  written.push(changeset);
  return written;
}

function main(argv) {
  const at = (flag) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const flagValues = new Set(['--title', '--arxiv', '--root'].map(at));
  const name = argv.find((a) => !a.startsWith('--') && !flagValues.has(a));
  if (!name) {
    console.error('usage: pnpm create-method <name> [--title "Paper title"] [--arxiv 2401.01234]');
    return 2;
  }
  const root = resolve(at('--root') ?? WORKSPACE_ROOT);
  const written = createMethod(name, { root, title: at('--title'), arxiv: at('--arxiv') });
  console.log(`created @methodzoo/${name}:\n${written.map((p) => `  ${relative(root, p)}`).join('\n')}`);
  console.log(`
next:
  npx -y pnpm@12.4.2 install              # links @methodzoo/core into the new package
  npx -y pnpm@12.4.2 nx run ${name}:test   # its tests (also: typecheck, build, bench, repro)
  - replace src/method.ts with the paper's method (cite each equation), keep the tests' invariants
  - add '${name}' to the CLI's method list (packages/cli/src/methods.ts) and @methodzoo/${name} to its dependencies
  - fill in the README's numbers from \`pnpm repro -- --full\``);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  }
}

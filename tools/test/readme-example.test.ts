import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkTarball, compareOutput, extractReadmeExample, publishablePackages, readTarball, workspaceDependencyClosure } from '../pack-smoke/pack-smoke.mjs';

const fence = '```';

describe('extractReadmeExample', () => {
  it('takes the first js block after the marker and its // prints: lines', () => {
    const md = [
      '# pkg',
      `${fence}js`,
      "console.log('not this one'); // prints: no",
      fence,
      '<!-- example -->',
      `${fence}sh`,
      'npm install pkg',
      fence,
      `${fence}js`,
      "import { f } from 'pkg';",
      'console.log(f(2)); // prints: 4',
      '// prints: two words',
      "console.log('two words');",
      fence,
      `${fence}js`,
      "console.log('later block'); // prints: later",
      fence,
    ].join('\n');
    const { code, expected } = extractReadmeExample(md);
    expect(expected).toEqual(['4', 'two words']);
    expect(code).toBe("import { f } from 'pkg';\nconsole.log(f(2)); // prints: 4\n// prints: two words\nconsole.log('two words');\n");
  });

  it('rejects a README without the marker, without a block or without stated output', () => {
    expect(() => extractReadmeExample(`${fence}js\nx\n${fence}`)).toThrow(/<!-- example -->/);
    expect(() => extractReadmeExample('<!-- example -->\ntext')).toThrow(/no ```js block/);
    expect(() => extractReadmeExample(`<!-- example -->\n${fence}js\nconsole.log(1)\n${fence}`)).toThrow(/prints:/);
  });

  it('finds a runnable example in every publishable package README', () => {
    for (const pkg of publishablePackages()) {
      const { code, expected } = extractReadmeExample(readFileSync(join(pkg.dir, 'README.md'), 'utf8'));
      // `import { x } from 'pkg'`, or a side-effect `import 'pkg'` (a backend registers itself).
      const imports = new RegExp(`(from|import)\\s*'${pkg.name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}(/[^']*)?'`);
      expect(code, pkg.name).toMatch(imports);
      expect(expected.length, pkg.name).toBeGreaterThan(0);
    }
  });
});

describe('compareOutput', () => {
  it('accepts exactly the stated lines and reports a difference otherwise', () => {
    expect(compareOutput('a\nb\n', ['a', 'b'])).toBeNull();
    expect(compareOutput('a\nc\n', ['a', 'b'])).toMatch(/expected[\s\S]*a\nb[\s\S]*actual stdout\na\nc/);
    expect(compareOutput('a\nb\nextra\n', ['a', 'b'])).not.toBeNull();
  });
});

describe('readTarball and checkTarball', () => {
  const pack = (files: Record<string, string>) => {
    const dir = mkdtempSync(join(tmpdir(), 'tarball-'));
    for (const [p, body] of Object.entries(files)) {
      mkdirSync(join(dir, 'package', p, '..'), { recursive: true });
      writeFileSync(join(dir, 'package', p), body);
    }
    execFileSync('tar', ['czf', join(dir, 'p.tgz'), '-C', dir, 'package']);
    const entries = readTarball(join(dir, 'p.tgz'));
    rmSync(dir, { recursive: true, force: true });
    return entries;
  };
  const manifest = (exports: unknown, extra: object = {}) => JSON.stringify({ name: 'p', exports, ...extra });

  it('reads paths and contents, including paths longer than 100 characters', () => {
    const long = `dist/${'deep/'.repeat(25)}x.js`;
    const entries = pack({ 'package.json': '{}', [long]: 'export {}' });
    expect(entries.get('package/package.json')?.toString()).toBe('{}');
    expect(entries.get(`package/${long}`)?.toString()).toBe('export {}');
  });

  it('passes a well-formed package', () => {
    const entries = pack({
      // scripts may name the source condition; only export maps must not
      'package.json': manifest(
        { '.': { types: './dist/index.d.ts', default: './dist/index.js' }, './package.json': './package.json' },
        { scripts: { bench: 'tsx --conditions=methodzoo-source bench/a.ts' }, dependencies: { '@methodzoo/core': '^0.1.0' } },
      ),
      'dist/index.js': '',
      'dist/index.d.ts': '',
      'README.md': '',
    });
    expect(checkTarball(entries)).toEqual([]);
  });

  it('names every problem: missing files, tests, source condition, types not first, missing export target', () => {
    const entries = pack({
      'package.json': manifest(
        { '.': { 'methodzoo-source': './src/index.ts', default: './dist/index.js', types: './dist/index.d.ts' }, './extra': './dist/extra.js' },
        { dependencies: { '@methodzoo/core': 'workspace:*' } },
      ),
      'dist/index.js': '',
      'test/a.test.ts': '',
      'src/b.spec.ts': '',
    });
    const problems = checkTarball(entries).join('\n');
    expect(problems).toContain('missing dist/index.d.ts');
    expect(problems).toContain('missing README');
    expect(problems).toContain('contains test files: src/b.spec.ts, test/a.test.ts');
    expect(problems).toContain("exports still has the 'methodzoo-source' condition");
    expect(problems).toContain("exports .: 'types' must come first");
    expect(problems).toContain('exports ./extra -> ./dist/extra.js is not in the tarball');
    expect(problems).toContain("dependencies.@methodzoo/core is still 'workspace:*'");
  });
});

describe('workspaceDependencyClosure', () => {
  it('follows workspace dependencies transitively and ignores registry ones', () => {
    const pkgs = [
      { name: 'a', dir: '', manifest: { dependencies: { b: 'workspace:*', lodash: '^4' } } },
      { name: 'b', dir: '', manifest: { peerDependencies: { c: 'workspace:^' } } },
      { name: 'c', dir: '', manifest: {} },
      { name: 'd', dir: '', manifest: { dependencies: { a: 'workspace:*' } } },
    ];
    expect(workspaceDependencyClosure(pkgs, 'a').sort()).toEqual(['b', 'c']);
    expect(workspaceDependencyClosure(pkgs, 'c')).toEqual([]);
  });
});

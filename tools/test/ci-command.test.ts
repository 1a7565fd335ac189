import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WORKSPACE_ROOT } from '../pack-smoke/pack-smoke.mjs';

// The README's test command is the contract with CI: .ci/run must run exactly it.
describe('.ci/run', () => {
  const readme = readFileSync(join(WORKSPACE_ROOT, 'README.md'), 'utf8');
  const ci = readFileSync(join(WORKSPACE_ROOT, '.ci/run'), 'utf8');
  const command = /<!-- test-command -->\s*```sh\n([^\n]+)\n```/.exec(readme)?.[1];

  it('runs the test command the README states', () => {
    expect(command).toBe('npx -y pnpm@12.4.2 install --frozen-lockfile && npx -y pnpm@12.4.2 test');
    expect(ci).toContain(command);
  });

  it('is executable and pins the pnpm version the root package.json names', () => {
    expect(statSync(join(WORKSPACE_ROOT, '.ci/run')).mode & 0o111).not.toBe(0);
    const pinned = JSON.parse(readFileSync(join(WORKSPACE_ROOT, 'package.json'), 'utf8')).packageManager;
    expect(command).toContain(`${pinned} `);
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runExample } from '../pack-smoke/pack-smoke.mjs';

describe('runExample', () => {
  const dir = mkdtempSync(join(tmpdir(), 'run-example-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints without colours even when the test runner forces them (as a README reader sees it)', () => {
    const saved = process.env.FORCE_COLOR;
    process.env.FORCE_COLOR = '1';
    try {
      const r = runExample(dir, 'console.log(54, [[7, 11]], true);\n');
      expect(r.status).toBe(0);
      expect(r.stdout).toBe('54 [ [ 7, 11 ] ] true\n');
    } finally {
      if (saved === undefined) delete process.env.FORCE_COLOR;
      else process.env.FORCE_COLOR = saved;
    }
  });
});

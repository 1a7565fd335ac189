/**
 * METHODZOO_TFJS_WASM_THREADS picks the build: 1 the single-threaded one, 2 the threaded one with
 * two XNNPACK threads (on any machine: the half-the-cores cap is lifted). Each must start in Node,
 * compute, and let the process exit. Child processes: tfjs loads one wasm build per process.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const run = (threads: string) => {
  const script = fileURLToPath(new URL('./helpers/threaded-run.ts', import.meta.url));
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--conditions=methodzoo-source', script], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    encoding: 'utf8',
    env: { ...process.env, METHODZOO_TFJS_WASM_THREADS: threads },
    timeout: 60_000,
  });
  expect(child.status, child.stderr.slice(-500)).toBe(0);
  return JSON.parse(child.stdout.trim().split('\n').pop()!) as { current: string; engine: string; value: number[][] };
};

describe('tfjs-wasm builds chosen by METHODZOO_TFJS_WASM_THREADS', () => {
  it('2: the threaded build starts with two threads, computes, and exits', () => {
    expect(run('2')).toEqual({ current: 'tfjs-wasm', engine: 'tfjs-backend-wasm 4.22, threaded SIMD build, 2 threads', value: [[7, 10], [15, 22]] });
  });

  it('1: the single-threaded build', () => {
    expect(run('1')).toEqual({ current: 'tfjs-wasm', engine: 'tfjs-backend-wasm 4.22, single-threaded build, SIMD', value: [[7, 10], [15, 22]] });
  });
});

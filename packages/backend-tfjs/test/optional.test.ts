/**
 * tfjs-node and tfjs-node-gpu are optional: when absent they are reported as not installed, with
 * what to install, and nothing crashes at import.
 */
import { backendInfo, BackendNotInstalled, initBackends, registerBackend } from '@methodzoo/core';
import { describe, expect, it } from 'vitest';
import { importOptional, loadNode } from '../src/index.js';

const notFound = (spec: string) => async () => {
  throw Object.assign(new Error(`Cannot find package '${spec}' imported from /app/index.js`), { code: 'ERR_MODULE_NOT_FOUND' });
};

describe('optional tfjs-node engines', () => {
  it('a missing package is BackendNotInstalled with the install command', async () => {
    const err = await importOptional('@tensorflow/tfjs-node', notFound('@tensorflow/tfjs-node')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendNotInstalled);
    expect((err as Error).message).toBe("@tensorflow/tfjs-node is not installed; to use it, npm install @tensorflow/tfjs-node@4.22.0 (it downloads TensorFlow's native library)");
  });

  it('a package whose native library does not load is a failure with the loader message', async () => {
    const broken = async () => {
      throw Object.assign(new Error("Cannot find module '/app/node_modules/@tensorflow/tfjs-node/lib/napi-v8/tfjs_binding.node'"), { code: 'MODULE_NOT_FOUND' });
    };
    const err = await importOptional('@tensorflow/tfjs-node', broken).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(BackendNotInstalled);
    expect((err as Error).message).toMatch(/^@tensorflow\/tfjs-node failed to load: Cannot find module '.*tfjs_binding\.node'$/);
  });

  it('the registry reports them and falls through to the next backend', async () => {
    await import('../src/index.js');
    registerBackend('tfjs-node-gpu', () => loadNode('@tensorflow/tfjs-node-gpu', notFound('@tensorflow/tfjs-node-gpu')) as never, 30);
    expect((await initBackends()).name).toBe('tfjs-wasm');
    const info = backendInfo();
    expect(info.backends.map((b) => [b.name, b.status])).toEqual([
      ['tfjs-node-gpu', 'not installed'],
      ['tfjs-node', expect.stringMatching(/^(not installed|failed)$/)],
      ['tfjs-wasm', 'ready'],
      ['reference', 'not initialised'],
    ]);
    expect(info.backends[0]!.error).toContain('npm install @tensorflow/tfjs-node-gpu@4.22.0');
    expect(info.backends[1]!.error).toContain('@tensorflow/tfjs-node');
  });
});

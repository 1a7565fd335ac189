/**
 * WebGPU is optional: where Dawn cannot load (this Debian 12 machine: its binary needs glibc 2.38)
 * or no adapter answers, the backend is reported as failed with that reason and the default falls
 * through to the next backend by priority (the reference: gpu.js's WebAssembly engines rank below
 * it); nothing crashes at import.
 */
import { backendInfo, BackendNotInstalled, initBackends } from '@methodzoo/core';
import { afterEach, describe, expect, it } from 'vitest';
import { loadGpuJs, loadWebGpu, provideNavigatorGpu } from '../src/index.js';

const g = globalThis as { navigator?: unknown };
const hadNavigator = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
afterEach(() => {
  if (hadNavigator) Object.defineProperty(globalThis, 'navigator', hadNavigator);
  else delete g.navigator;
});

describe('WebGPU through gpu.js', () => {
  it('a missing webgpu package is BackendNotInstalled with the install command', async () => {
    const missing = async () => {
      throw Object.assign(new Error("Cannot find package 'webgpu' imported from /app/index.js"), { code: 'ERR_MODULE_NOT_FOUND' });
    };
    const err = await provideNavigatorGpu(missing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendNotInstalled);
    expect((err as Error).message).toBe('the webgpu package (Dawn for Node) is not installed; npm install webgpu@0.2.9');
  });

  it('a Dawn binary that does not load is a failure that quotes the loader', async () => {
    const broken = async () => {
      throw Object.assign(new Error("/lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found (required by linux-x64.dawn.node)"), { code: 'ERR_DLOPEN_FAILED' });
    };
    const err = await provideNavigatorGpu(broken).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(BackendNotInstalled);
    expect((err as Error).message).toBe("WebGPU skipped: Dawn (the webgpu package) failed to load: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found (required by linux-x64.dawn.node)");
  });

  it('a WebGPU implementation without an adapter is a failure that says so, and installs navigator.gpu', async () => {
    const fakeDawn = async () => ({ create: () => ({ requestAdapter: async () => null }), globals: {} });
    const err = await loadWebGpu(fakeDawn, loadGpuJs).catch((e: unknown) => e);
    expect((err as Error).message).toBe('WebGPU skipped: navigator.gpu is present but requestAdapter() found no adapter (no GPU, or no driver for it)');
    expect((g.navigator as { gpu?: unknown }).gpu).toBeDefined();
  });

  it('the registry reports why WebGPU was skipped and falls through to the reference backend', async () => {
    await import('../src/index.js');
    const chosen = await initBackends();
    const info = backendInfo();
    const webgpu = info.backends.find((b) => b.name === 'gpujs-webgpu')!;
    expect(info.backends.map((b) => [b.name, b.priority])).toEqual([
      ['gpujs-webgpu', 40],
      ['reference', 0],
      ['gpujs-webasm', -1],
      ['gpujs-webasm-async', -2],
    ]);
    if (webgpu.status === 'ready') {
      expect(chosen.name).toBe('gpujs-webgpu');
    } else {
      expect(webgpu.status).toBe('failed');
      expect(webgpu.error).toMatch(/^WebGPU skipped: /);
      // the WebAssembly engines are slower than the reference on a CPU, so they rank below it
      expect(chosen.name).toBe('reference');
    }
  });
});

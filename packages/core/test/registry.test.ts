import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Backend, KernelTable } from '../src/index.js';

type Mz = typeof import('../src/index.js');

/** A fresh copy of the library, so each test starts from an empty registry choice. */
async function fresh(): Promise<Mz> {
  vi.resetModules();
  return import('../src/index.js');
}

/** A backend with the reference kernels under another name (optionally missing some). */
function copyOf(mz: Mz, name: string, opts: Partial<Pick<Backend, 'dtypes' | 'missingReasons'>> & { drop?: string[]; kernels?: Partial<KernelTable> } = {}): Backend {
  const ref = new mz.ReferenceBackend();
  const kernels: Record<string, unknown> = { ...ref.kernels, ...opts.kernels };
  for (const k of opts.drop ?? []) delete kernels[k];
  return {
    name,
    kernels: kernels as Partial<KernelTable>,
    ...(opts.dtypes ? { dtypes: opts.dtypes } : {}),
    ...(opts.missingReasons ? { missingReasons: opts.missingReasons } : {}),
    upload: (d) => ref.upload(d),
    read: (h) => ref.read(h as never),
    readSync: (h) => ref.readSync(h as never),
    release: (h) => ref.release(h as never),
  };
}

afterEach(() => {
  delete process.env.METHODZOO_BACKEND;
});

describe('backend resolution', () => {
  it('defaults to the highest-priority backend that initialises and says why others were skipped', async () => {
    const mz = await fresh();
    mz.registerBackend('fast', () => copyOf(mz, 'fast'), 5);
    mz.registerBackend('broken', () => {
      throw new Error('driver 3.1 missing');
    }, 9);
    mz.registerBackend('absent', () => {
      throw new mz.BackendNotInstalled("install 'absent-pkg'");
    }, 10);
    expect(mz.getBackend().name).toBe('fast');
    const info = mz.backendInfo();
    expect(info.current).toBe('fast');
    expect(info.chosenBy).toBe('priority');
    expect(info.backends).toEqual([
      { name: 'absent', priority: 10, status: 'not installed', error: "install 'absent-pkg'" },
      { name: 'broken', priority: 9, status: 'failed', error: 'driver 3.1 missing' },
      { name: 'fast', priority: 5, status: 'ready' },
      { name: 'reference', priority: 0, status: 'not initialised' },
    ]);
    expect(() => mz.setBackend('broken')).toThrow("backend 'broken' failed to initialise: driver 3.1 missing");
    expect(() => mz.setBackend('absent')).toThrow("backend 'absent' is not installed: install 'absent-pkg'");
  });

  it('uses an asynchronous backend only after initBackends, and the sync path keeps working', async () => {
    const mz = await fresh();
    let resolve!: (b: Backend) => void;
    mz.registerBackend('slow', () => new Promise<Backend>((r) => (resolve = r)), 5);
    expect(mz.getBackend().name).toBe('reference');
    expect(mz.backendInfo().backends.find((b) => b.name === 'slow')?.status).toBe('initialising');
    expect(() => mz.setBackend('slow')).toThrow("backend 'slow' initialises asynchronously: call await initBackends() or await setBackendAsync('slow') first");
    const pending = mz.initBackends();
    resolve(copyOf(mz, 'slow'));
    expect((await pending).name).toBe('slow');
    expect(mz.tensor([1, 2]).backend.name).toBe('slow');
    expect(mz.backendInfo().backends.find((b) => b.name === 'slow')?.status).toBe('ready');
  });

  it('an asynchronous factory that rejects is reported with its error, and the next backend is used', async () => {
    const mz = await fresh();
    mz.registerBackend('gpu', () => Promise.reject(new mz.BackendNotInstalled('no adapter')), 5);
    expect((await mz.initBackends()).name).toBe('reference');
    expect(mz.backendInfo().backends[0]).toEqual({ name: 'gpu', priority: 5, status: 'not installed', error: 'no adapter' });
    await expect(mz.setBackendAsync('gpu')).rejects.toThrow("backend 'gpu' is not installed: no adapter");
  });

  it('METHODZOO_BACKEND and setBackend force a backend over priority', async () => {
    process.env.METHODZOO_BACKEND = 'reference';
    const mz = await fresh();
    mz.registerBackend('fast', () => copyOf(mz, 'fast'), 5);
    expect((await mz.initBackends()).name).toBe('reference');
    expect(mz.backendInfo().chosenBy).toBe('name');
    mz.setBackend('fast');
    expect(mz.zeros([2]).backend.name).toBe('fast');
    process.env.METHODZOO_BACKEND = 'nope';
    const mz2 = await fresh();
    expect(() => mz2.getBackend()).toThrow("backend 'nope' is not registered (registered: reference)");
  });

  it('an unregistered optional backend says which package to install', async () => {
    const mz = await fresh();
    expect(() => mz.setBackend('tfjs-wasm')).toThrow(
      "backend 'tfjs-wasm' is not registered (registered: reference); it comes with @methodzoo/backend-tfjs: install it and import it once (import '@methodzoo/backend-tfjs')",
    );
  });

  it('refuses backend names that are dtype names', async () => {
    const mz = await fresh();
    expect(() => mz.registerBackend('float64', () => copyOf(mz, 'float64'))).toThrow("registerBackend: 'float64' is a dtype name");
  });
});

describe('fallbacks and dtypes', () => {
  it('runs missing or declined kernels on the reference and records each with its reason', async () => {
    const mz = await fresh();
    const decline: KernelTable['neg'] = (inputs, attrs, out) => {
      if (inputs[0]!.dtype === 'int32') throw new mz.KernelFallback('int32 neg is not covered');
      return mz.referenceKernels.neg(inputs as never, attrs, out);
    };
    mz.registerBackend('partial', () => copyOf(mz, 'partial', { drop: ['exp', 'sin'], missingReasons: { exp: 'exp is not in the library' }, kernels: { neg: decline } }), 5);
    const x = mz.tensor([0, 1]);
    expect(Array.from(x.exp().dataSync())).toEqual([1, Math.fround(Math.E)]);
    x.exp();
    expect(x.sin().tolist()).toEqual([0, Math.fround(Math.sin(1))]);
    expect(mz.tensor([3, -4], { dtype: 'int32' }).neg().tolist()).toEqual([-3, 4]);
    expect(x.neg().tolist()).toEqual([-0, -1]);
    expect(mz.backendInfo().fallbacks).toEqual([
      { backend: 'partial', prim: 'exp', reason: 'exp is not in the library', count: 2 },
      { backend: 'partial', prim: 'sin', reason: 'no kernel', count: 1 },
      { backend: 'partial', prim: 'neg', reason: 'int32 neg is not covered', count: 1 },
    ]);
  });

  it('a backend refuses dtypes it cannot store, at creation and as an op result', async () => {
    const mz = await fresh();
    mz.registerBackend('f32', () => copyOf(mz, 'f32', { dtypes: ['float32', 'int32', 'bool'] }), 5);
    expect(() => mz.tensor([1], { dtype: 'float64' })).toThrow("tensor: backend 'f32' does not support float64 (it supports float32, int32, bool); cast first or use another backend");
    expect(() => mz.tensor([1]).double()).toThrow("cast: backend 'f32' does not support float64");
    expect(() => mz.tensor([1], { dtype: 'float64', backend: 'reference' }).to('f32')).toThrow("to: backend 'f32' does not support float64");
  });
});

describe('moving tensors between backends', () => {
  it('to(backend) copies values and dtype; to(dtype) still casts; mixing backends fails naming both', async () => {
    const mz = await fresh();
    mz.registerBackend('other', () => copyOf(mz, 'other'), -1);
    const a = mz.tensor([[1.5, -2], [3, 4]]);
    const b = a.to('other');
    expect(b.backend.name).toBe('other');
    expect(b.dtype).toBe('float32');
    expect(b.shape).toEqual([2, 2]);
    expect(b.tolist()).toEqual([[1.5, -2], [3, 4]]);
    expect(a.to('reference')).toBe(a);
    const i = mz.tensor([7, 8], { dtype: 'int32' }).to(mz.getBackend('other'));
    expect([i.backend.name, i.dtype, i.tolist()]).toEqual(['other', 'int32', [7, 8]]);
    const d = b.to('float64');
    expect([d.backend.name, d.dtype]).toEqual(['other', 'float64']);
    expect(() => a.add(b)).toThrow("add: input 1 is on backend 'other' but input 0 is on 'reference'; move one with .to()");
    expect(a.add(b.to('reference')).tolist()).toEqual([[3, -4], [6, 8]]);
  });

  it('a moved leaf keeps requiresGrad and trains on its new backend; a recorded intermediate is refused', async () => {
    const mz = await fresh();
    mz.registerBackend('other', () => copyOf(mz, 'other'), -1);
    const w = mz.tensor([1, 2], { requiresGrad: true });
    const v = w.to('other');
    expect(v.requiresGrad).toBe(true);
    v.mul(v).sum().backward();
    expect(v.grad!.backend.name).toBe('other');
    expect(v.grad!.tolist()).toEqual([2, 4]);
    expect(() => w.mul(2).to('other')).toThrow(/to: tensor #\d+ was computed by a recorded op; moving it to 'other' would cut the graph/);
  });
});

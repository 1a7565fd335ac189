/**
 * The core's memory model on gpu.js: release frees the handle's host array (webasm) or GPU buffer
 * (WebGPU), so a long training loop ends with flat methodzoo and backend memory. The loop is the
 * core memory test's MLP for 10,000 steps, and 1,000 on the async engine, whose launches and releases
 * are queued and checked once the queue has drained.
 */
import * as mz from '@methodzoo/core';
import { describe, expect, it } from 'vitest';
import type { GpujsBackend } from '../src/index.js';
import '../src/index.js';
import { smallMlpTraining } from '../../core/test/helpers/mlp-loop.js';

const mlp = smallMlpTraining;

describe('memory on gpujs-webasm', () => {
  const backend = mz.getBackend('gpujs-webasm') as GpujsBackend;

  it('dispose and scope free the backend handles', () => {
    mz.setBackend('gpujs-webasm');
    const before = backend.memory();
    const kept = mz.scope(() => {
      const a = mz.ones([4, 4]);
      const b = a.reshape(16).add(1);
      a.matmul(a).relu().sum();
      return b;
    });
    expect(backend.memory().buffers).toBe(before.buffers + 1);
    expect(backend.memory().bytes).toBe(before.bytes + 64);
    expect(kept.tolist()).toEqual(new Array(16).fill(2));
    kept.dispose();
    expect(backend.memory()).toEqual(before);
  });

  it('10,000 SGD steps of a small MLP end with the same live tensors, bytes and backend buffers as after step 1', () => {
    mz.setBackend('gpujs-webasm');
    const { step, all } = mlp(new mz.Generator(0));
    const first = step();
    const firstLoss = first.item();
    first.dispose();
    const baseline = mz.memory();
    const gpuBaseline = backend.memory();
    let last = 0;
    for (let i = 1; i < 10_000; i++) {
      const l = step();
      if (i === 9_999) last = l.item();
      l.dispose();
    }
    const end = mz.memory();
    expect(all[0]!.backend.name).toBe('gpujs-webasm');
    expect([end.tensors, end.bytes, end.buffers]).toEqual([baseline.tensors, baseline.bytes, baseline.buffers]);
    expect(backend.memory()).toEqual(gpuBaseline);
    expect(last).toBeLessThan(firstLoss / 10);
    for (const t of all) t.dispose();
  });
});

describe('memory on gpujs-webasm-async (queued launches and releases)', () => {
  it('1,000 steps end flat once the queue has drained, and the loss matches the sync engine', async () => {
    const sync = mlp(new mz.Generator(0));
    mz.setBackend('gpujs-webasm');
    const syncLosses: number[] = [];
    for (let i = 0; i < 1_000; i++) {
      const l = sync.step();
      syncLosses.push(l.item());
      l.dispose();
    }
    for (const t of sync.all) t.dispose();

    const backend = mz.setBackend('gpujs-webasm-async') as GpujsBackend;
    const { step, all } = mlp(new mz.Generator(0));
    expect(() => all[0]!.sum().item()).toThrow(/read asynchronously: use await t.data\(\)/);
    const first = step();
    const firstLoss = (await first.data())[0]!;
    first.dispose();
    await backend.flush();
    const baseline = mz.memory();
    const gpuBaseline = backend.memory();
    let last = 0;
    for (let i = 1; i < 1_000; i++) {
      const l = step();
      if (i === 999) last = (await l.data())[0]!;
      l.dispose();
    }
    await backend.flush();
    expect([mz.memory().tensors, mz.memory().bytes]).toEqual([baseline.tensors, baseline.bytes]);
    expect(backend.memory()).toEqual(gpuBaseline);
    expect(firstLoss).toBeCloseTo(syncLosses[0]!, 5);
    expect(last).toBeCloseTo(syncLosses[999]!, 5);
    for (const t of all) t.dispose();
  });
});

/**
 * The core's memory model on tfjs-wasm: release disposes the tfjs tensor, so a 10,000-step
 * training loop (the core's memory test) ends with flat methodzoo and tfjs memory.
 */
import * as mz from '@methodzoo/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import '../src/index.js';
import { smallMlpTraining } from '../../core/test/helpers/mlp-loop.js';

// the single-threaded build starts in a second instead of several (the default threaded one is tested in kernels.test.ts)
process.env.METHODZOO_TFJS_WASM_THREADS = '1';


await mz.setBackendAsync('tfjs-wasm');

describe('memory on tfjs-wasm', () => {
  it('dispose and scope free the tfjs tensors', () => {
    const before = tf.memory().numTensors;
    const kept = mz.scope(() => {
      const a = mz.ones([4, 4]);
      const b = a.reshape(16).add(1);
      a.matmul(a).relu().sum();
      return b;
    });
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(kept.tolist()).toEqual(new Array(16).fill(2));
    kept.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('10,000 SGD steps of a small MLP end with the same live tensors, bytes and tfjs tensors as after step 1', () => {
    const { step, all } = smallMlpTraining(new mz.Generator(0));
    const first = step();
    const firstLoss = first.item();
    first.dispose();
    const baseline = mz.memory();
    const tfBaseline = tf.memory();
    let last = 0;
    for (let i = 1; i < 10_000; i++) {
      const l = step();
      if (i === 9_999) last = l.item();
      l.dispose();
    }
    const end = mz.memory();
    expect(all.every((t) => t.backend.name === 'tfjs-wasm')).toBe(true);
    expect([end.tensors, end.bytes, end.buffers]).toEqual([baseline.tensors, baseline.bytes, baseline.buffers]);
    expect(tf.memory().numTensors).toBe(tfBaseline.numTensors);
    expect(tf.memory().numBytes).toBe(tfBaseline.numBytes);
    expect(last).toBeLessThan(firstLoss / 10);
  });
});

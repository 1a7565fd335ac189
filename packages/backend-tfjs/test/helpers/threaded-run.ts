/** Child script of threads.test.ts: initialises the default backend and prints what ran. */
import { backendInfo, getBackend, initBackends, tensor } from '@methodzoo/core';
import type { TfjsBackend } from '../../src/index.js';
import '../../src/index.js';

await initBackends();
const x = tensor([[1, 2], [3, 4]]);
console.log(JSON.stringify({ current: backendInfo().current, engine: (getBackend('tfjs-wasm') as TfjsBackend).engine, value: x.matmul(x).tolist() }));

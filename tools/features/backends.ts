/**
 * The backends in docs/FEATURES.md, built for description only: their kernel tables, dtypes and
 * reasons are static, so no engine (wasm, native library) is loaded.
 */
import type { DescribedBackend } from './features.js';
import { ReferenceBackend, TfjsBackend } from './sources.js';

export function describedBackends(): DescribedBackend[] {
  // tfjs kernels only touch the tf namespace when they run, which these never do
  const tfjs = (name: string, tfBackend: string) => new TfjsBackend(name, undefined as never, tfBackend);
  return [
    { backend: new ReferenceBackend(), about: 'pure TypeScript on typed arrays, always available (priority 0); the definition the others are tested against.' },
    {
      backend: tfjs('tfjs-wasm', 'wasm'),
      about: '`@methodzoo/backend-tfjs` on tfjs-backend-wasm 4.22 (XNNPACK, SIMD), priority 10; `tfjs-node` (20) and `tfjs-node-gpu` (30) use the same kernels on TensorFlow\'s native library when those optional packages are installed.',
    },
  ];
}

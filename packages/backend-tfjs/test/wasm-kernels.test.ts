/** src/wasm/kernels.generated.ts is the compiled src/wasm/kernels.wat: the two must not drift apart. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs build script without type declarations
import { generate, generatedPath } from '../scripts/build-wasm.mjs';

describe('kernels.wat', () => {
  it('compiles to exactly the committed kernels.generated.ts (run node scripts/build-wasm.mjs after editing it)', async () => {
    expect(readFileSync(generatedPath as string, 'utf8')).toBe(await (generate as () => Promise<string>)());
  });
});

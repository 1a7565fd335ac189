/** docs/FEATURES.md is generated from the backends' kernel tables: it must match a fresh render. */
import { readFileSync } from 'node:fs';
import { INFER } from '@methodzoo/core';
import { describe, expect, it } from 'vitest';
import { describedBackends } from '../../../tools/features/backends.js';
import { renderFeatures } from '../../../tools/features/features.js';
import { FEATURES_PATH } from '../../../tools/features/generate.js';

describe('docs/FEATURES.md', () => {
  const rendered = renderFeatures(describedBackends());

  it('is up to date (regenerate with: npx tsx --conditions=methodzoo-source tools/features/generate.ts)', () => {
    expect(readFileSync(FEATURES_PATH, 'utf8')).toBe(rendered);
  });

  it('has a row per primitive and says what tfjs-wasm refuses', () => {
    expect(rendered).toContain('| `unfold` | native | native |');
    expect(rendered).toContain('| `div` | native | native; reference for int32 (the reference truncates toward zero, tfjs floors) |');
    expect(rendered).toContain('| float64 | yes | unsupported (refused with an error) |');
    expect(rendered.match(/^\| `/gm)?.length).toBe(Object.keys(INFER).length);
  });
});

/** Writes docs/FEATURES.md. Run: npx tsx --conditions=methodzoo-source tools/features/generate.ts */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describedBackends } from './backends.js';
import { renderFeatures } from './features.js';

export const FEATURES_PATH = fileURLToPath(new URL('../../docs/FEATURES.md', import.meta.url));

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(FEATURES_PATH, renderFeatures(describedBackends()));
  console.log(`wrote ${FEATURES_PATH}`);
}

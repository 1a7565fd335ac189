import { defineConfig } from 'vitest/config';

// Resolve workspace packages to their TypeScript source (see "methodzoo-source" in each exports map).
export const sharedConfig = defineConfig({
  resolve: { conditions: ['methodzoo-source', 'import', 'module', 'default'] },
  ssr: { resolve: { conditions: ['methodzoo-source', 'import', 'module', 'default'] } },
  test: {
    environment: 'node',
    testTimeout: 60_000,
    reporters: ['default', 'json'],
    outputFile: { json: '.test-results/results.json' },
  },
});

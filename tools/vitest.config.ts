import { defineConfig, mergeConfig } from 'vitest/config';
import { sharedConfig } from '../vitest.shared.js';

export default mergeConfig(
  sharedConfig,
  defineConfig({
    test: {
      // tools/golden and other tool folders hold scripts, not tests
      include: ['test/**/*.test.ts', 'pack-smoke/**/*.test.ts'],
      // pack-smoke builds, packs and npm-installs every publishable package
      testTimeout: 300_000,
      hookTimeout: 300_000,
    },
  }),
);

import { defineConfig } from 'vitest/config';

// Tests import package sources through the `cspec-source` export condition,
// so they never run against a stale build.
const resolve = { conditions: ['cspec-source'] };

export default defineConfig({
  resolve,
  ssr: { resolve: { conditions: ['cspec-source'], externalConditions: ['cspec-source'] } },
  test: {
    projects: [
      {
        resolve,
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts'],
        },
      },
      {
        resolve,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          globalSetup: ['test/global-setup.ts'],
          // Integration tests share the machine's kernel; files run one at a time.
          fileParallelism: false,
        },
      },
    ],
  },
});

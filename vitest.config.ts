import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests import the packages' sources, so they never run against a stale build.
// (Export conditions alone do not reach packages linked into node_modules:
// Vitest leaves those to Node, which picks dist/.)
const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const resolve = {
  conditions: ['cspec-source'],
  alias: [
    { find: /^@cspec\/runtime$/, replacement: source('./packages/runtime/src/index.ts') },
    { find: /^@cspec\/vitest$/, replacement: source('./packages/vitest/src/index.ts') },
    { find: /^@cspec\/vitest\/host$/, replacement: source('./packages/vitest/src/host.ts') },
    { find: /^cspec\/vitest$/, replacement: source('./packages/cli/src/vitest.ts') },
    { find: /^cspec$/, replacement: source('./packages/cli/src/index.ts') },
  ],
};

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

import { defineConfig } from 'vitest/config';

// The suite of examples/postgres-per-test as a testcontainers-node user writes it.
export default defineConfig({ test: { include: ['test/*.test.ts'], hookTimeout: 180_000 } });

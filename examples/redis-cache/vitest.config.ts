import { cspec, redis } from 'cspec/vitest';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [cspec({ services: { cache: redis() } })],
  // Worker threads instead of the default child processes: the fixtures work in both.
  test: { pool: 'threads' },
});

import { cspec, redis } from 'cspec/vitest';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [cspec({ services: { cache: redis() } })],
});

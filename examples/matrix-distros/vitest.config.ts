import { cspec, postgres } from 'cspec/vitest';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Under `cspec test --distro ...` the CLI starts this Postgres once on the host, and every
  // distribution's suite reaches it over a cspec network as "db".
  plugins: [cspec({ services: { db: postgres({ migrations: './migrations' }) } })],
  test: { include: ['test/**/*.test.ts'] },
});

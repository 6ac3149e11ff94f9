// Types for the fixtures declared in vitest.config.ts.
import type { RedisKeyspace } from 'cspec/vitest';

declare module '@cspec/vitest' {
  interface CspecFixtures {
    cache: RedisKeyspace;
  }
}

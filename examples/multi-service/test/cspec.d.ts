// Types for the fixtures declared in vitest.config.ts.
import type { PostgresDatabase, RedisKeyspace, ServiceHandle } from 'cspec/vitest';

declare module '@cspec/vitest' {
  interface CspecFixtures {
    db: PostgresDatabase;
    cache: RedisKeyspace;
    api: ServiceHandle;
  }
}

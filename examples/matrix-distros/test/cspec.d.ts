// Types for the fixtures declared in vitest.config.ts.
import type { PostgresDatabase } from 'cspec/vitest';

declare module '@cspec/vitest' {
  interface CspecFixtures {
    db: PostgresDatabase;
  }
}

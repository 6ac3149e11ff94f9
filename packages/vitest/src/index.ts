/**
 * @cspec/vitest — declare services once in vitest.config.ts with the
 * `cspec()` plugin; every test gets its own database, keyspace or service
 * handle through the `test` fixtures. Also available as `cspec/vitest`.
 */
export { type CspecOptions, type CspecPluginApi, cspec } from './plugin.js';
export type {
  FixtureScope,
  ProvidedGeneric,
  ProvidedMariadb,
  ProvidedPostgres,
  ProvidedRedis,
  ProvidedService,
  ProvidedServices,
} from './provided.js';
export {
  type GenericServiceOptions,
  type MariadbOptions,
  mariadb,
  type PostgresOptions,
  postgres,
  type RedisOptions,
  redis,
  type ServiceBuild,
  type ServiceDefinition,
  service,
} from './services/definitions.js';
export type { ServiceHandle } from './worker/generic-fixture.js';
export type { MariadbDatabase } from './worker/mariadb-fixture.js';
export type { PostgresDatabase } from './worker/postgres-fixture.js';
export type { RedisKeyspace } from './worker/redis-fixture.js';
export { type CspecFixtures, it, test } from './worker/test.js';

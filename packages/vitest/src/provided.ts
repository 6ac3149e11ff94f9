/**
 * What crosses from Vitest's main process to its workers (`provide` /
 * `inject`): plain, serializable connection data. Containers stay owned by
 * the main process; workers only connect to them.
 */

/** How long a service's fixture lives: one per test (default), per file, or per worker. */
export type FixtureScope = 'test' | 'file' | 'worker';

interface ProvidedBase {
  /** The service's name in the plugin's `services` (also its fixture's name). */
  readonly name: string;
  readonly containerId: string;
  readonly image: string;
  /** Always 127.0.0.1: ports are published on IPv4 loopback only. */
  readonly host: string;
  readonly scope: FixtureScope;
}

export interface ProvidedPostgres extends ProvidedBase {
  readonly kind: 'postgres';
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** The migrated, seeded database every test's database is cloned from. */
  readonly template: string;
  /** `CREATE DATABASE ... STRATEGY` (PostgreSQL 15+), or undefined for the server's default. */
  readonly cloneStrategy: 'FILE_COPY' | 'WAL_LOG' | undefined;
  /** Clones each worker keeps ready. */
  readonly poolSize: number;
  readonly keepOnFailure: boolean;
}

export interface ProvidedRedis extends ProvidedBase {
  readonly kind: 'redis';
  readonly port: number;
  /** Number of logical databases; index 0 holds cspec's free list, 1..n-1 go to tests. */
  readonly databases: number;
}

export interface SqlFile {
  /** Path relative to the project root, for error messages. */
  readonly file: string;
  readonly sql: string;
}

export interface ProvidedMariadb extends ProvidedBase {
  readonly kind: 'mariadb';
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** Migrations then seed, replayed into each test's database. */
  readonly scripts: readonly SqlFile[];
  /** Pre-migrated databases each worker keeps ready. */
  readonly poolSize: number;
  readonly keepOnFailure: boolean;
}

export interface ProvidedGeneric extends ProvidedBase {
  readonly kind: 'service';
  /** container port -> host port on 127.0.0.1 */
  readonly ports: Readonly<Record<number, number>>;
}

export type ProvidedService = ProvidedPostgres | ProvidedRedis | ProvidedMariadb | ProvidedGeneric;

export interface ProvidedServices {
  readonly services: Readonly<Record<string, ProvidedService>>;
}

/** The key under which the plugin provides services to workers. */
export const PROVIDE_KEY = 'cspec';

declare module 'vitest' {
  export interface ProvidedContext {
    cspec: ProvidedServices;
  }
}

/** Redis: the set in database 0 that holds the indexes of free databases. */
export const REDIS_FREE_LIST = 'cspec:free-databases';

/**
 * Set by `cspec test --distro` for suites it runs in containers: the JSON of
 * `ProvidedServices` for services the CLI already started on the host. The
 * plugin then provides these instead of starting its own.
 */
export const SERVICES_ENV = 'CSPEC_SERVICES';

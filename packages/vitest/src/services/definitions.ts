/**
 * Service declarations for `cspec({ services })`: what to run, never how.
 * The factories only validate and record options; the main process starts
 * the containers (main/) and workers hand out fixtures (worker/).
 */
import type { ContainerSpec, WaitSpec } from '@cspec/runtime';
import type { FixtureScope } from '../provided.js';

interface CommonOptions {
  /** One fixture per test (default), per test file, or per worker. */
  readonly scope?: FixtureScope;
}

export interface PostgresOptions extends CommonOptions {
  /** @default 'cspec/postgres:17' */
  readonly image?: string;
  /** A directory of `.sql` files (run in name order) or a list of files, relative to the project root. */
  readonly migrations?: string | readonly string[];
  /** SQL files run after the migrations. */
  readonly seed?: string | readonly string[];
  /** @default 'postgres' */
  readonly user?: string;
  /** @default 'cspec' */
  readonly password?: string;
  /** Extra server settings (`postgres -c name=value`), on top of cspec's tuning for tests. */
  readonly settings?: Readonly<Record<string, string | number>>;
  /** Keep a failed test's database and print its URL. @default false */
  readonly keepOnFailure?: boolean;
  /** Clones each worker keeps ready, made in the background. @default 2 */
  readonly poolSize?: number;
}

export interface RedisOptions extends CommonOptions {
  /** @default 'cspec/redis:7' */
  readonly image?: string;
  /** Logical databases on the server (one per concurrent test). @default 256 */
  readonly databases?: number;
}

export interface MariadbOptions extends CommonOptions {
  /** @default 'cspec/mariadb:11' */
  readonly image?: string;
  readonly migrations?: string | readonly string[];
  readonly seed?: string | readonly string[];
  /** @default 'cspec' (the user is root) */
  readonly password?: string;
  /** Pre-migrated databases each worker keeps ready. @default 2 */
  readonly poolSize?: number;
  readonly keepOnFailure?: boolean;
}

/** A Dockerfile the service's image is built from before the run (paths relative to the project root). */
export interface ServiceBuild {
  readonly context: string;
  /** @default `<context>/Dockerfile` */
  readonly dockerfile?: string;
  readonly args?: Readonly<Record<string, string>>;
  readonly target?: string;
}

export interface GenericServiceOptions extends CommonOptions {
  /** The image to run; with `build`, the name the built image is tagged with. */
  readonly image: string;
  /** Build `image` from a Dockerfile first (every step cached, so an unchanged build takes milliseconds). */
  readonly build?: ServiceBuild;
  readonly command?: readonly string[];
  readonly entrypoint?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly ports?: readonly number[];
  /** `{ http: '/health' }` waits for HTTP 2xx on the first port; any WaitSpec works too. */
  readonly wait?: WaitSpec | { readonly http: string; readonly port?: number };
  /** Services that must be ready before this one starts (by name). */
  readonly dependsOn?: readonly string[];
  /** Anything else a ContainerSpec takes (files, mounts, resources...). */
  readonly container?: Omit<
    ContainerSpec,
    'image' | 'command' | 'entrypoint' | 'env' | 'ports' | 'wait' | 'name'
  >;
}

export type ServiceDefinition =
  | { readonly kind: 'postgres'; readonly options: PostgresOptions }
  | { readonly kind: 'redis'; readonly options: RedisOptions }
  | { readonly kind: 'mariadb'; readonly options: MariadbOptions }
  | { readonly kind: 'service'; readonly options: GenericServiceOptions };

function checkScope(what: string, scope: FixtureScope | undefined): void {
  if (scope !== undefined && scope !== 'test' && scope !== 'file' && scope !== 'worker') {
    throw new TypeError(
      `cspec: ${what}: scope must be 'test', 'file' or 'worker' (got ${JSON.stringify(scope)})`,
    );
  }
}

function checkPoolSize(what: string, poolSize: number | undefined): void {
  if (poolSize !== undefined && (!Number.isInteger(poolSize) || poolSize < 0 || poolSize > 64)) {
    throw new TypeError(`cspec: ${what}: poolSize must be an integer from 0 to 64 (got ${poolSize})`);
  }
}

/** PostgreSQL: each test gets a database of its own, cloned from a migrated template. */
export function postgres(options: PostgresOptions = {}): ServiceDefinition {
  checkScope('postgres()', options.scope);
  checkPoolSize('postgres()', options.poolSize);
  return { kind: 'postgres', options };
}

/** Redis: each test gets a logical database of its own (flushed when it ends). */
export function redis(options: RedisOptions = {}): ServiceDefinition {
  checkScope('redis()', options.scope);
  const databases = options.databases ?? 256;
  if (!Number.isInteger(databases) || databases < 2 || databases > 100_000) {
    throw new TypeError(`cspec: redis(): databases must be an integer from 2 to 100000 (got ${databases})`);
  }
  return { kind: 'redis', options };
}

/** MariaDB: each test gets a database of its own with the migrated schema and seed. */
export function mariadb(options: MariadbOptions = {}): ServiceDefinition {
  checkScope('mariadb()', options.scope);
  checkPoolSize('mariadb()', options.poolSize);
  return { kind: 'mariadb', options };
}

/** Any image: started once, its host, ports and URL handed to tests. */
export function service(options: GenericServiceOptions): ServiceDefinition {
  if (typeof options?.image !== 'string' || options.image === '') {
    throw new TypeError(
      'cspec: service(): `image` is required, e.g. service({ image: "my/api", ports: [8080] })',
    );
  }
  checkScope('service()', options.scope);
  if (
    options.build !== undefined &&
    (typeof options.build?.context !== 'string' || options.build.context === '')
  ) {
    throw new TypeError('cspec: service(): `build.context` is required, e.g. build: { context: "./api" }');
  }
  return { kind: 'service', options };
}

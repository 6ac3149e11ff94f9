/**
 * A PostgreSQL database per test: `CREATE DATABASE ... TEMPLATE` from the
 * migrated template (~20 ms for 20 tables on tmpfs), made ahead of need —
 * every worker keeps `poolSize` clones ready and refills in the background,
 * so a test usually takes one in well under a millisecond (bench/) — and
 * dropped in the background when the test ends.
 */
import type pg from 'pg';
import type { ProvidedPostgres } from '../provided.js';
import { DatabasePool } from './database-pool.js';
import { uniqueName } from './unique-name.js';

export interface PostgresDatabase {
  /** `postgres://user:password@127.0.0.1:port/database` */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  /** A pg pool on this database (connects on first use, closed after the test). */
  readonly pool: pg.Pool;
  /** `pool.query(...)` */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: readonly unknown[],
  ): Promise<pg.QueryResult<R>>;
}

export class PostgresDatabases {
  readonly #provided: ProvidedPostgres;
  readonly #pg: typeof pg;
  readonly #admin: pg.Pool;
  readonly #databases: DatabasePool;

  constructor(provided: ProvidedPostgres, pgModule: typeof pg) {
    this.#provided = provided;
    this.#pg = pgModule;
    this.#admin = new pgModule.Pool({ ...this.#connection('postgres'), max: 4 });
    this.#admin.on('error', () => {});
    this.#databases = new DatabasePool(
      provided.poolSize,
      () => this.#clone(),
      (database) => this.#admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`),
    );
  }

  async create(): Promise<PostgresDatabase> {
    const p = this.#provided;
    const database = await this.#databases.take();
    const pool = new this.#pg.Pool({ ...this.#connection(database), max: 10 });
    pool.on('error', () => {});
    return {
      url: `postgres://${encodeURIComponent(p.user)}:${encodeURIComponent(p.password)}@${p.host}:${p.port}/${database}`,
      host: p.host,
      port: p.port,
      database,
      user: p.user,
      password: p.password,
      pool,
      query: (text, values) => pool.query(text, values as unknown[]),
    };
  }

  /** Closes the test's pool and drops its database without holding up the next test. */
  async release(database: PostgresDatabase, options: { readonly keep: boolean }): Promise<void> {
    await database.pool.end().catch(() => {});
    if (!options.keep) this.#databases.dropLater(database.database);
  }

  async close(): Promise<void> {
    await this.#databases.close();
    await this.#admin.end().catch(() => {});
  }

  async #clone(): Promise<string> {
    const p = this.#provided;
    const database = uniqueName('t');
    const strategy = p.cloneStrategy ? ` STRATEGY ${p.cloneStrategy}` : '';
    await this.#admin.query(`CREATE DATABASE "${database}" TEMPLATE "${p.template}"${strategy}`);
    return database;
  }

  #connection(database: string): pg.PoolConfig {
    const p = this.#provided;
    return { host: p.host, port: p.port, user: p.user, password: p.password, database };
  }
}

/**
 * A MariaDB database per test. MariaDB cannot clone a database, so each one
 * is made by replaying the migrations and seed — ahead of need: every worker
 * keeps `poolSize` ready and refills in the background, so a test usually
 * takes one that is already there. Dropped when the test ends.
 */
import type mysql from 'mysql2/promise';
import type { ProvidedMariadb } from '../provided.js';
import { runScript } from '../shared/mariadb-script.js';
import { DatabasePool } from './database-pool.js';
import { uniqueName } from './unique-name.js';

export interface MariadbDatabase {
  /** `mysql://user:password@127.0.0.1:port/database` */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  /** A mysql2 pool on this database (connects on first use, closed after the test). */
  readonly pool: mysql.Pool;
  /** `pool.query(...)` */
  query: mysql.Pool['query'];
}

export class MariadbDatabases {
  readonly #provided: ProvidedMariadb;
  readonly #mysql: typeof mysql;
  readonly #admin: mysql.Pool;
  readonly #databases: DatabasePool;

  constructor(provided: ProvidedMariadb, mysqlModule: typeof mysql) {
    this.#provided = provided;
    this.#mysql = mysqlModule;
    this.#admin = mysqlModule.createPool({
      ...this.#connection(),
      connectionLimit: 4,
      multipleStatements: true,
    });
    this.#databases = new DatabasePool(
      provided.poolSize,
      () => this.#make(),
      (database) => this.#admin.query(`DROP DATABASE IF EXISTS \`${database}\``),
    );
  }

  async create(): Promise<MariadbDatabase> {
    const p = this.#provided;
    const database = await this.#databases.take();
    const pool = this.#mysql.createPool({ ...this.#connection(), database, connectionLimit: 10 });
    return {
      url: `mysql://${encodeURIComponent(p.user)}:${encodeURIComponent(p.password)}@${p.host}:${p.port}/${database}`,
      host: p.host,
      port: p.port,
      database,
      user: p.user,
      password: p.password,
      pool,
      query: pool.query.bind(pool) as mysql.Pool['query'],
    };
  }

  async release(database: MariadbDatabase, options: { readonly keep: boolean }): Promise<void> {
    await database.pool.end().catch(() => {});
    if (!options.keep) this.#databases.dropLater(database.database);
  }

  async close(): Promise<void> {
    await this.#databases.close();
    await this.#admin.end().catch(() => {});
  }

  async #make(): Promise<string> {
    const database = uniqueName('t');
    const connection = await this.#admin.getConnection();
    try {
      await connection.query(`CREATE DATABASE \`${database}\``);
      await connection.query(`USE \`${database}\``);
      for (const script of this.#provided.scripts) {
        await runScript(connection as unknown as mysql.Connection, this.#provided.name, script);
      }
    } finally {
      connection.release();
    }
    return database;
  }

  #connection(): mysql.PoolOptions {
    const p = this.#provided;
    return { host: p.host, port: p.port, user: p.user, password: p.password };
  }
}

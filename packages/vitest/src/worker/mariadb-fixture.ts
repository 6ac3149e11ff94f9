/**
 * A MariaDB database per test. MariaDB cannot clone a database, so each one
 * is made by replaying the migrations and seed — ahead of need: every worker
 * keeps `poolSize` ready and refills in the background, so a test usually
 * takes one that is already there. Dropped when the test ends.
 */
import type mysql from 'mysql2/promise';
import type { ProvidedMariadb } from '../provided.js';
import { runScript } from '../shared/mariadb-script.js';
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
  readonly #ready: Promise<string>[] = [];
  readonly #drops = new Set<Promise<void>>();

  constructor(provided: ProvidedMariadb, mysqlModule: typeof mysql) {
    this.#provided = provided;
    this.#mysql = mysqlModule;
    this.#admin = mysqlModule.createPool({
      ...this.#connection(),
      connectionLimit: 4,
      multipleStatements: true,
    });
  }

  async create(): Promise<MariadbDatabase> {
    const p = this.#provided;
    const database = await (this.#ready.shift() ?? this.#make());
    this.#refill();
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
    if (options.keep) return;
    const drop = this.#admin
      .query(`DROP DATABASE IF EXISTS \`${database.database}\``)
      .then(() => {})
      .catch(() => {})
      .finally(() => this.#drops.delete(drop));
    this.#drops.add(drop);
  }

  async close(): Promise<void> {
    const unused = await Promise.allSettled(this.#ready.splice(0));
    for (const result of unused) {
      if (result.status === 'fulfilled') {
        await this.#admin.query(`DROP DATABASE IF EXISTS \`${result.value}\``).catch(() => {});
      }
    }
    await Promise.all(this.#drops);
    await this.#admin.end().catch(() => {});
  }

  #refill(): void {
    while (this.#ready.length < this.#provided.poolSize) {
      const made = this.#make();
      made.catch(() => {}); // reported to the test that takes it
      this.#ready.push(made);
    }
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

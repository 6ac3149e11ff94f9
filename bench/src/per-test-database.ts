/**
 * Handing a test a fresh, migrated database: the time from "the test asks"
 * to "it has a database of its own", for a 20-table schema with a seed.
 * Postgres: CREATE DATABASE ... TEMPLATE with both strategies, and taking
 * a clone from a worker's pool while tests of ~20 ms run between takes.
 * MariaDB: replaying the migrations (no pool), and taking one from a
 * worker's pool while tests of ~20 ms run between takes.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createEngine } from '@cspec/runtime';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { startServices } from '../../packages/vitest/src/main/orchestrator.js';
import { serviceKey } from '../../packages/vitest/src/main/prepared-image.js';
import type { ProvidedMariadb, ProvidedPostgres } from '../../packages/vitest/src/provided.js';
import { mariadb, postgres } from '../../packages/vitest/src/services/definitions.js';
import { MariadbDatabases } from '../../packages/vitest/src/worker/mariadb-fixture.js';
import { PostgresDatabases } from '../../packages/vitest/src/worker/postgres-fixture.js';
import { ensureDocker, saveIntoDocker } from './docker.js';
import { postgresSpec, queryPostgres } from './postgres-side.js';
import { type Summary, summarize } from './stats.js';

const run = promisify(execFile);
const CONTAINER_IMAGE = 'cspec/postgres:17';
const withNode24 = fileURLToPath(new URL('../../scripts/with-node24.mjs', import.meta.url));
const tcScript = fileURLToPath(new URL('./tc-postgres-once.mjs', import.meta.url));

const TABLES = 20;

/** 20 tables, each with a foreign key to the previous one and an index; 100 seeded rows in the first. */
function schema(dialect: 'pg' | 'mysql'): { migration: string; seed: string } {
  const id =
    dialect === 'pg'
      ? 'bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY'
      : 'BIGINT AUTO_INCREMENT PRIMARY KEY';
  const statements: string[] = [];
  for (let i = 1; i <= TABLES; i++) {
    const parent = i > 1 ? `, parent_id bigint REFERENCES t${i - 1} (id)` : '';
    statements.push(
      `CREATE TABLE t${i} (id ${id}, name varchar(100) NOT NULL, created_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP${parent});`,
    );
    statements.push(`CREATE INDEX t${i}_name ON t${i} (name);`);
  }
  const rows = Array.from({ length: 100 }, (_, i) => `('row ${i}')`).join(', ');
  return { migration: statements.join('\n'), seed: `INSERT INTO t1 (name) VALUES ${rows};` };
}

export interface PerTestDatabaseResult {
  readonly scenario: 'per-test-database';
  readonly tables: number;
  readonly results: Record<string, Summary>;
  /** Medians: a database from cspec's pool (or a clone) / a new container per test with the same schema. */
  readonly ratios: Record<string, number>;
}

export async function perTestDatabase(options: {
  readonly rounds: number;
  readonly log: (line: string) => void;
}): Promise<PerTestDatabaseResult> {
  const dir = await mkdtemp(join(tmpdir(), 'cspec-bench-db-'));
  try {
    for (const dialect of ['pg', 'mysql'] as const) {
      const { migration, seed } = schema(dialect);
      await writeFile(join(dir, `${dialect}-001.sql`), migration);
      await writeFile(join(dir, `${dialect}-seed.sql`), seed);
    }
    const running = await startServices(
      {
        db: postgres({ migrations: [join(dir, 'pg-001.sql')], seed: join(dir, 'pg-seed.sql') }),
        mysql: mariadb({ migrations: [join(dir, 'mysql-001.sql')], seed: join(dir, 'mysql-seed.sql') }),
      },
      { root: dir, log: options.log },
    );
    try {
      const provided = running.provided.services;
      const samples: Record<string, number[]> = {
        'postgres FILE_COPY': [],
        'postgres WAL_LOG': [],
        'postgres from pool': [],
        'mariadb replay': [],
        'mariadb from pool': [],
      };
      const pgBase = provided.db as ProvidedPostgres;
      const strategies = {
        'postgres FILE_COPY': new PostgresDatabases(
          { ...pgBase, cloneStrategy: 'FILE_COPY', poolSize: 0 },
          pg,
        ),
        'postgres WAL_LOG': new PostgresDatabases({ ...pgBase, cloneStrategy: 'WAL_LOG', poolSize: 0 }, pg),
      };
      const pgPooled = new PostgresDatabases({ ...pgBase, cloneStrategy: 'FILE_COPY', poolSize: 2 }, pg);
      const myBase = provided.mysql as ProvidedMariadb;
      const replay = new MariadbDatabases({ ...myBase, poolSize: 0 }, mysql);
      const pooled = new MariadbDatabases({ ...myBase, poolSize: 2 }, mysql);
      const time = async <T>(name: string, make: () => Promise<T>): Promise<T> => {
        const start = performance.now();
        const value = await make();
        samples[name]?.push(performance.now() - start);
        return value;
      };
      // A container per test, for comparison: a new Postgres, then the migrations and seed.
      const sql = [join(dir, 'pg-001.sql'), join(dir, 'pg-seed.sql')];
      const schemaSql = await Promise.all(sql.map((f) => readFile(f, 'utf8')));
      const containerRounds = Math.min(options.rounds, 10);
      samples['postgres, a new container (cspec)'] = [];
      samples['postgres, a new container (testcontainers)'] = [];
      const engine = await createEngine();
      const docker = await ensureDocker(options.log);
      try {
        await saveIntoDocker(engine, CONTAINER_IMAGE, dir);
        for (let round = 0; round < containerRounds; round++) {
          const start = performance.now();
          const c = await engine.run(postgresSpec(CONTAINER_IMAGE));
          try {
            await queryPostgres(c.mappedPort(5432), schemaSql);
            samples['postgres, a new container (cspec)']!.push(performance.now() - start);
          } finally {
            await c.remove();
          }
          const { stdout } = await run(process.execPath, [withNode24, tcScript, CONTAINER_IMAGE, ...sql], {
            env: { ...process.env, TESTCONTAINERS_RYUK_DISABLED: 'true' },
          });
          samples['postgres, a new container (testcontainers)']!.push(
            (JSON.parse(stdout.trim().split('\n').at(-1)!) as { readyMs: number }).readyMs,
          );
        }
      } finally {
        await run('docker', ['rmi', '-f', CONTAINER_IMAGE]).catch(() => {});
        await docker.stop();
        await engine.close();
      }

      for (let round = 0; round < options.rounds; round++) {
        for (const [name, databases] of Object.entries(strategies)) {
          const db = await time(name, () => databases.create());
          const { rows } = await db.query('SELECT count(*)::int AS n FROM t1');
          if (rows[0]?.n !== 100) throw new Error(`${name}: the seed is missing`);
          await databases.release(db, { keep: false });
        }
        const cloned = await time('postgres from pool', () => pgPooled.create());
        await new Promise((r) => setTimeout(r, 20)); // the test's own work, while the pool refills
        await pgPooled.release(cloned, { keep: false });
        const fresh = await time('mariadb replay', () => replay.create());
        await replay.release(fresh, { keep: false });
        const taken = await time('mariadb from pool', () => pooled.create());
        await new Promise((r) => setTimeout(r, 20)); // the test's own work, while the pool refills
        await pooled.release(taken, { keep: false });
      }
      await Promise.all([...Object.values(strategies), pgPooled, replay, pooled].map((d) => d.close()));
      const results = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
      const ratio = (a: string, b: string) =>
        Math.round((results[a]!.medianMs / results[b]!.medianMs) * 100000) / 100000;
      return {
        scenario: 'per-test-database',
        tables: TABLES,
        results,
        ratios: {
          poolToTestcontainersContainer: ratio(
            'postgres from pool',
            'postgres, a new container (testcontainers)',
          ),
          cloneToTestcontainersContainer: ratio(
            'postgres FILE_COPY',
            'postgres, a new container (testcontainers)',
          ),
          poolToCspecContainer: ratio('postgres from pool', 'postgres, a new container (cspec)'),
        },
      };
    } finally {
      await running.stop();
      await removePreparedImages(dir);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The services' prepared images belong to this run's temporary project: remove them. */
async function removePreparedImages(root: string): Promise<void> {
  const keys = [serviceKey(root, 'db'), serviceKey(root, 'mysql')];
  const engine = await createEngine();
  try {
    for (const image of await engine.images.list()) {
      if (keys.some((k) => image.reference.includes(`-${k}:`))) await engine.images.remove(image.reference);
    }
  } finally {
    await engine.close();
  }
}

/**
 * MariaDB in the main process. MariaDB has no template databases, so tests'
 * databases are made by replaying the migrations and seed (in workers, ahead
 * of need — see worker/mariadb-fixture.ts). Here the server's initialised
 * data directory is prepared once and reused across runs, and the migrations
 * are checked once into `cspec_template`, so a broken one fails the run with
 * its file name before any test starts.
 */
import type { ContainerSpec } from '@cspec/runtime';
import type mysql from 'mysql2/promise';
import type { ProvidedMariadb } from '../provided.js';
import type { MariadbOptions } from '../services/definitions.js';
import { runScript } from '../shared/mariadb-script.js';
import { peer } from '../shared/peer.js';
import { preparedImage, serviceKey } from './prepared-image.js';
import type { ServiceContext, StartedService } from './service-context.js';
import { readSqlFiles } from './sql-files.js';

/** Durability off for tests; enough connections for many workers. */
const TEST_FLAGS = [
  '--innodb-flush-log-at-trx-commit=0',
  '--innodb-doublewrite=0',
  '--skip-log-bin',
  '--sync-binlog=0',
  '--max-connections=500',
  '--performance-schema=OFF',
];

export async function startMariadb(
  ctx: ServiceContext,
  name: string,
  options: MariadbOptions,
): Promise<StartedService> {
  const mysqlModule = await peer<typeof mysql>('mysql2/promise', 'mariadb');
  const image = options.image ?? 'cspec/mariadb:11';
  const password = options.password ?? 'cspec';
  const scripts = [
    ...(await readSqlFiles(ctx.root, 'migrations', options.migrations)),
    ...(await readSqlFiles(ctx.root, 'seed', options.seed)),
  ];
  const spec = (fromImage: string): ContainerSpec => ({
    image: fromImage,
    env: { MARIADB_ROOT_PASSWORD: password },
    command: ['mariadbd', ...TEST_FLAGS],
    ports: [3306],
    networks: ctx.networks,
    labels: ctx.labels,
    wait: { type: 'healthcheck' },
  });
  const prepared = await preparedImage({
    engine: ctx.engine,
    repository: `cspec-cache/mariadb-${serviceKey(ctx.root, name)}`,
    fingerprint: { password, scripts, recipe: 1 },
    spec: spec(image),
    run: { signal: ctx.signal },
    prepare: async (container) => {
      const connection = await mysqlModule.createConnection({
        host: '127.0.0.1',
        port: container.mappedPort(3306),
        user: 'root',
        password,
        multipleStatements: true,
      });
      try {
        await connection.query('CREATE DATABASE cspec_template');
        await connection.query('USE cspec_template');
        for (const script of scripts) await runScript(connection, name, script);
      } finally {
        await connection.end();
      }
      ctx.log(`${name}: checked ${scripts.length} migration/seed file(s)`);
    },
  });
  const container = await ctx.engine.run(spec(prepared.reference), { signal: ctx.signal });
  const provided: ProvidedMariadb = {
    kind: 'mariadb',
    name,
    containerId: container.id,
    image,
    host: container.host,
    port: container.mappedPort(3306),
    user: 'root',
    password,
    scripts,
    poolSize: options.poolSize ?? 2,
    keepOnFailure: options.keepOnFailure ?? false,
    scope: options.scope ?? 'test',
  };
  return {
    container,
    provided,
    detail: prepared.reused ? 'data directory from cache' : 'data directory prepared',
  };
}

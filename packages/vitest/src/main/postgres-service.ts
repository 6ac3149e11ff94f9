/**
 * PostgreSQL in the main process: a server tuned for tests (no fsync, data on
 * the container's tmpfs layer), a template database holding the migrations
 * and seed, prepared once and reused across runs (prepared-image.ts).
 */
import type { ContainerSpec } from '@cspec/runtime';
import type pg from 'pg';
import type { ProvidedPostgres, SqlFile } from '../provided.js';
import type { PostgresOptions } from '../services/definitions.js';
import { peer } from '../shared/peer.js';
import { preparedImage, serviceKey } from './prepared-image.js';
import type { ServiceContext, StartedService } from './service-context.js';
import { lineAndColumn, readSqlFiles } from './sql-files.js';

export const POSTGRES_TEMPLATE = 'cspec_template';

/** Durability off, logging that names each line's database (failure output filters on it). */
const TEST_SETTINGS: Readonly<Record<string, string>> = {
  fsync: 'off',
  synchronous_commit: 'off',
  full_page_writes: 'off',
  wal_level: 'minimal',
  max_wal_senders: '0',
  checkpoint_timeout: '1h',
  max_connections: '400',
  log_line_prefix: '%m [%p] db=%d ',
  log_checkpoints: 'off',
};

export async function startPostgres(
  ctx: ServiceContext,
  name: string,
  options: PostgresOptions,
): Promise<StartedService> {
  const pgModule = await peer<typeof pg>('pg', 'postgres');
  const image = options.image ?? 'cspec/postgres:17';
  const user = options.user ?? 'postgres';
  const password = options.password ?? 'cspec';
  const scripts = [
    ...(await readSqlFiles(ctx.root, 'migrations', options.migrations)),
    ...(await readSqlFiles(ctx.root, 'seed', options.seed)),
  ];
  const settings = { ...TEST_SETTINGS, ...stringValues(options.settings ?? {}) };
  const spec = (fromImage: string): ContainerSpec => ({
    image: fromImage,
    env: { POSTGRES_USER: user, POSTGRES_PASSWORD: password },
    command: ['postgres', ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])],
    ports: [5432],
    networks: ctx.networks,
    labels: ctx.labels,
    wait: { type: 'healthcheck' },
  });
  const connect = async (port: number, database: string): Promise<pg.Client> => {
    const client = new pgModule.Client({ host: '127.0.0.1', port, user, password, database });
    await client.connect();
    return client;
  };

  const prepared = await preparedImage({
    engine: ctx.engine,
    repository: `cspec-cache/postgres-${serviceKey(ctx.root, name)}`,
    fingerprint: { user, password, scripts, template: POSTGRES_TEMPLATE, recipe: 1 },
    spec: spec(image),
    run: { signal: ctx.signal },
    prepare: async (container) => {
      const port = container.mappedPort(5432);
      const admin = await connect(port, 'postgres');
      try {
        await admin.query(`CREATE DATABASE ${POSTGRES_TEMPLATE}`);
      } finally {
        await admin.end();
      }
      const template = await connect(port, POSTGRES_TEMPLATE);
      try {
        for (const script of scripts) await runScript(template, name, script);
      } finally {
        await template.end();
      }
      ctx.log(`${name}: ran ${scripts.length} migration/seed file(s) into the template`);
    },
  });

  const container = await ctx.engine.run(spec(prepared.reference), { signal: ctx.signal });
  try {
    const port = container.mappedPort(5432);
    const admin = await connect(port, 'postgres');
    let version: number;
    try {
      const result = await admin.query<{ v: string }>('SELECT current_setting($1) AS v', [
        'server_version_num',
      ]);
      version = Number(result.rows[0]?.v);
    } finally {
      await admin.end();
    }
    const provided: ProvidedPostgres = {
      kind: 'postgres',
      name,
      containerId: container.id,
      image,
      host: container.host,
      port,
      user,
      password,
      template: POSTGRES_TEMPLATE,
      cloneStrategy: version >= 150000 ? 'FILE_COPY' : undefined,
      poolSize: options.poolSize ?? 2,
      keepOnFailure: options.keepOnFailure ?? false,
      scope: options.scope ?? 'test',
    };
    return { container, provided, detail: prepared.reused ? 'template from cache' : 'template built' };
  } catch (error) {
    await container.remove();
    throw error;
  }
}

async function runScript(client: pg.Client, service: string, script: SqlFile): Promise<void> {
  try {
    await client.query(script.sql);
  } catch (error) {
    const e = error as { message?: string; position?: string; code?: string };
    const at = e.position ? lineAndColumn(script.sql, Number(e.position)) : undefined;
    const where = at ? ` at line ${at.line}, column ${at.column}` : '';
    throw new Error(
      `cspec: service "${service}": ${script.file} failed${where}: ${e.message ?? String(error)}` +
        (e.code ? ` (SQLSTATE ${e.code})` : '') +
        '\n  Fix the file and run again: the template is rebuilt whenever migrations or seeds change.',
      { cause: error },
    );
  }
}

function stringValues(values: Readonly<Record<string, string | number>>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, String(v)]));
}

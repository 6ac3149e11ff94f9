/**
 * `import { test } from 'cspec/vitest'`: Vitest's `test` with one fixture per
 * declared service, named like the service. Built on first use, in the
 * worker, from the connection data the plugin provided — so importing this
 * module from a config file is harmless.
 */
import { failureLogSink } from '@cspec/runtime';
import type { Redis } from 'ioredis';
import type mysql from 'mysql2/promise';
import type pg from 'pg';
import { inject, type TestAPI, test as vitestTest } from 'vitest';
import { PROVIDE_KEY, type ProvidedService, type ProvidedServices } from '../provided.js';
import { peer } from '../shared/peer.js';
import { attach, failed, logTail } from './failure-output.js';
import { serviceHandle } from './generic-fixture.js';
import { type MariadbDatabase, MariadbDatabases } from './mariadb-fixture.js';
import { type PostgresDatabase, PostgresDatabases } from './postgres-fixture.js';
import { type RedisKeyspace, RedisKeyspaces } from './redis-fixture.js';

/**
 * The fixtures' types. Every service's fixture is reachable by its name; for
 * precise types, declare them:
 * `declare module '@cspec/vitest' { interface CspecFixtures { db: PostgresDatabase } }`
 */
// biome-ignore lint/suspicious/noExplicitAny: names come from the user's config; augmentation narrows them
export interface CspecFixtures extends Record<string, any> {}

interface TaskContext {
  readonly task: { readonly result?: { readonly state?: string; readonly errors?: unknown[] } };
}
type Use<T> = (value: T) => Promise<void>;

/** Per worker: one manager per service (admin connections, pools), closed when the worker ends. */
interface Manager<T> {
  create(): Promise<T>;
  release(value: T, options: { readonly keep: boolean }): Promise<void>;
  close(): Promise<void>;
  /** Extra failure output (e.g. the kept database's URL). */
  describeKept?(value: T): string;
  /** Which of the server's log lines belong to this value (e.g. its database). */
  ownsLogLine?(value: T, line: string): boolean;
}

const managers = new Map<string, Promise<Manager<unknown>>>();

function managerFor(service: ProvidedService): Promise<Manager<unknown>> {
  let manager = managers.get(service.name);
  if (!manager) {
    manager = createManager(service);
    managers.set(service.name, manager);
  }
  return manager;
}

async function createManager(service: ProvidedService): Promise<Manager<unknown>> {
  switch (service.kind) {
    case 'postgres': {
      const databases = new PostgresDatabases(service, await peer<typeof pg>('pg', 'postgres'));
      return {
        create: () => databases.create(),
        release: (db, o) => databases.release(db as PostgresDatabase, o),
        close: () => databases.close(),
        describeKept: (db) => `kept database: ${(db as PostgresDatabase).url}`,
        ownsLogLine: (db, line) =>
          line.includes(`db=${(db as PostgresDatabase).database} `) || line.includes('db= '),
      } as Manager<unknown>;
    }
    case 'redis': {
      const keyspaces = new RedisKeyspaces(service, await peer<typeof Redis>('ioredis', 'redis'));
      return {
        create: () => keyspaces.create(),
        release: (k) => keyspaces.release(k as RedisKeyspace),
        close: () => keyspaces.close(),
      } as Manager<unknown>;
    }
    case 'mariadb': {
      const databases = new MariadbDatabases(service, await peer<typeof mysql>('mysql2/promise', 'mariadb'));
      return {
        create: () => databases.create(),
        release: (db, o) => databases.release(db as MariadbDatabase, o),
        close: () => databases.close(),
        describeKept: (db) => `kept database: ${(db as MariadbDatabase).url}`,
      } as Manager<unknown>;
    }
    case 'service': {
      const handle = serviceHandle(service);
      return { create: async () => handle, release: async () => {}, close: async () => {} };
    }
  }
}

function keeps(service: ProvidedService): boolean {
  return (service.kind === 'postgres' || service.kind === 'mariadb') && service.keepOnFailure;
}

/** Adds the service's log tail (and a kept database's URL) to a failed test's output. */
async function reportFailure(
  task: TaskContext['task'],
  service: ProvidedService,
  manager: Manager<unknown>,
  value: unknown,
) {
  const keep = keeps(service);
  if (keep && manager.describeKept) attach(task, service.name, manager.describeKept(value));
  const owns = manager.ownsLogLine;
  const tail = await logTail(service.containerId, owns ? (line) => owns(value, line) : undefined);
  attach(task, `last lines of the logs of ${service.name} (${service.image})`, tail);
  return keep;
}

function testScoped(service: ProvidedService) {
  return async ({ task }: TaskContext, use: Use<unknown>) => {
    const manager = await managerFor(service);
    const value = await manager.create();
    try {
      await use(value);
    } finally {
      const keep = failed(task) ? await reportFailure(task, service, manager, value) : false;
      await manager.release(value, { keep });
    }
  };
}

/** Shared scopes cannot see the test; their logs are attached by the `cspecFailureLogs` fixture. */
const sharedInUse = new Map<string, ProvidedService>();

function shared(service: ProvidedService) {
  // biome-ignore lint/correctness/noEmptyPattern: Vitest reads a fixture's dependencies from this pattern
  return async ({}: object, use: Use<unknown>) => {
    const manager = await managerFor(service);
    const value = await manager.create();
    sharedInUse.set(service.name, service);
    try {
      await use(value);
    } finally {
      sharedInUse.delete(service.name);
      await manager.release(value, { keep: false });
    }
  };
}

function build(): TestAPI<CspecFixtures> {
  const provided = inject(PROVIDE_KEY) as ProvidedServices | undefined;
  const fixtures: Record<string, unknown> = {};
  for (const service of Object.values(provided?.services ?? {})) {
    fixtures[service.name] =
      service.scope === 'test' ? testScoped(service) : [shared(service), { scope: service.scope }];
  }
  fixtures.cspecFailureLogs = [
    async ({ task }: TaskContext, use: Use<undefined>) => {
      // withContainer leaves the logs of containers whose callback failed here (in this worker).
      const containerLogs = failureLogSink();
      const before = containerLogs.length;
      await use(undefined);
      const left = containerLogs.splice(before);
      if (!failed(task)) return;
      for (const log of left) {
        attach(
          task,
          `last lines of the logs of container ${log.name} (${log.image}, withContainer)`,
          log.tail,
        );
      }
      for (const service of sharedInUse.values()) {
        const tail = await logTail(service.containerId);
        attach(task, `last lines of the logs of ${service.name} (${service.image})`, tail);
      }
    },
    { auto: true },
  ];
  fixtures.cspecWorkerCleanup = [
    // biome-ignore lint/correctness/noEmptyPattern: Vitest reads a fixture's dependencies from this pattern
    async ({}: object, use: Use<undefined>) => {
      await use(undefined);
      const all = [...managers.values()];
      managers.clear();
      await Promise.allSettled(all.map(async (m) => (await m).close()));
    },
    { scope: 'worker', auto: true },
  ];
  return vitestTest.extend(fixtures as never) as unknown as TestAPI<CspecFixtures>;
}

let built: TestAPI<CspecFixtures> | undefined;
try {
  // In a worker this module is first imported while a test file is collected,
  // outside any describe block — where worker-scoped fixtures must be defined.
  built = build();
} catch {
  // Imported from a config file or another non-test context: built on first use.
}
const current = (): TestAPI<CspecFixtures> => {
  built ??= build();
  return built;
};

export const test: TestAPI<CspecFixtures> = new Proxy(
  function cspecTest() {} as unknown as TestAPI<CspecFixtures>,
  {
    apply: (_target, _this, args: unknown[]) =>
      (current() as unknown as (...a: unknown[]) => unknown)(...args),
    get: (_target, property) => Reflect.get(current(), property),
  },
);

/** `it` is `test`, as in Vitest. */
export const it = test;

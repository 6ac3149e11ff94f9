/**
 * The Vitest plugin end to end: real Vitest runs on fixture projects under
 * fixtures/vitest/, real Postgres, Redis and MariaDB reached with pg, ioredis
 * and mysql2. After every run the host must hold nothing of cspec's.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createEngine } from '@cspec/runtime';
import { afterEach, describe, expect, test } from 'vitest';
import { serviceKey } from '../../packages/vitest/src/main/prepared-image.js';
import { expectNoLeaks, waitForNoLeaks } from '../support/leaks.js';
import { fixtureDir, runVitest } from './run-vitest.js';

const temps: string[] = [];
afterEach(async () => {
  for (const dir of temps.splice(0)) await rm(dir, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cspec-vitest-'));
  temps.push(dir);
  return dir;
}

/** The prepared images of the template-cache fixture's `db` service. */
async function cacheTags(): Promise<string[]> {
  const repository = `cspec-cache/postgres-${serviceKey(resolve(fixtureDir('template-cache')), 'db')}:`;
  const engine = await createEngine();
  try {
    return (await engine.images.list()).map((i) => i.reference).filter((r) => r.includes(repository));
  } finally {
    await engine.close();
  }
}

describe('cspec() Vitest plugin', () => {
  test('200 concurrent tests on 2 workers, same primary keys and keys: none sees another one’s data', async () => {
    const dir = await tempDir();
    const report = join(dir, 'report.json');
    const run = runVitest('isolation', ['--reporter=json', `--outputFile=${report}`]);
    const { code, output } = await run.done;
    expect(code, output).toBe(0);
    const result = JSON.parse(await readFile(report, 'utf8')) as {
      numPassedTests: number;
      numFailedTests: number;
    };
    expect(result.numFailedTests).toBe(0);
    expect(result.numPassedTests).toBe(200);
    expectNoLeaks();
  });

  test('the template is built once per migration set: reused while unchanged, rebuilt when changed', async () => {
    const dir = await tempDir();
    const migrations = join(dir, 'migrations');
    const out = join(dir, 'marker');
    await import('node:fs/promises').then((fs) => fs.mkdir(migrations));
    // Unique content, so the first run cannot find a template from an earlier test run.
    await writeFile(
      join(migrations, '001_marker.sql'),
      `-- ${dir}\nCREATE TABLE migration_marker (ran_at timestamptz NOT NULL);\nINSERT INTO migration_marker VALUES (clock_timestamp());\n`,
    );
    const env = { CSPEC_FIXTURE_MIGRATIONS: migrations, CSPEC_FIXTURE_OUT: out };

    const first = await runVitest('template-cache', [], env).done;
    expect(first.code, first.output).toBe(0);
    expect(first.output).toContain('template built');
    const builtAt = await readFile(out, 'utf8');
    const tagsAfterFirst = await cacheTags();

    const second = await runVitest('template-cache', [], env).done;
    expect(second.code, second.output).toBe(0);
    expect(second.output).toContain('template from cache');
    expect(second.output).not.toContain('ran 1 migration');
    // The migration did not run again: the row it wrote is the first run's.
    expect(await readFile(out, 'utf8')).toBe(builtAt);

    await writeFile(join(migrations, '002_more.sql'), 'CREATE TABLE more (id int);\n');
    const third = await runVitest('template-cache', [], env).done;
    expect(third.code, third.output).toBe(0);
    expect(third.output).toContain('template built');
    expect(await readFile(out, 'utf8')).not.toBe(builtAt);
    // The template of the older migrations was replaced, not kept beside the new one.
    const tagsAfterThird = await cacheTags();
    expect(tagsAfterFirst).toHaveLength(1);
    expect(tagsAfterThird).toHaveLength(1);
    expect(tagsAfterThird).not.toEqual(tagsAfterFirst);
    expectNoLeaks();
  });

  test('a broken migration fails the run with its file, line and the Postgres error, and caches nothing', async () => {
    const dir = await tempDir();
    const migrations = join(dir, 'migrations');
    await import('node:fs/promises').then((fs) => fs.mkdir(migrations));
    await writeFile(join(migrations, '001_ok.sql'), `-- ${dir}\nCREATE TABLE a (id int);\n`);
    await writeFile(
      join(migrations, '002_broken.sql'),
      'CREATE TABLE b (id int);\nINSERT INTO b SELECT id FROM nope;\n',
    );
    const tagsBefore = await cacheTags();
    const run = await runVitest('template-cache', [], {
      CSPEC_FIXTURE_MIGRATIONS: migrations,
      CSPEC_FIXTURE_OUT: join(dir, 'out'),
    }).done;
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(
      /service "db": .*002_broken\.sql failed at line 2, column \d+: relation "nope" does not exist \(SQLSTATE 42P01\)/,
    );
    expect(await cacheTags()).toEqual(tagsBefore);
    expectNoLeaks();
  });

  test('failures carry the log tails of the services the test used, also in the JUnit report', async () => {
    const dir = await tempDir();
    const junit = join(dir, 'junit.xml');
    const run = await runVitest('failing', [
      '--reporter=default',
      '--reporter=junit',
      `--outputFile.junit=${junit}`,
    ]).done;
    expect(run.code).toBe(1);
    // The database's server log, filtered to this test's database: the failed statement is there.
    expect(run.output).toMatch(
      /last lines of the logs of db \(cspec\/postgres:17\)[\s\S]*ERROR: {2}relation "table_that_is_not_there" does not exist/,
    );
    expect(run.output).toMatch(
      /last lines of the logs of echo \(cspec\/debian:bookworm\)\n\s+listening 7000/,
    );
    // A container of withContainer whose callback failed: read before it was removed.
    expect(run.output).toMatch(
      /last lines of the logs of container \S+ \(cspec\/debian:bookworm, withContainer\)\n\s+worker-container-says-hi/,
    );
    const xml = await readFile(junit, 'utf8');
    expect(xml).toContain('last lines of the logs of db');
    expect(xml).toContain('last lines of the logs of echo');
    expect(xml).toContain('worker-container-says-hi');
    expectNoLeaks();
  });

  test('a service that fails to start fails the run with its name and logs, and leaves nothing', async () => {
    const run = await runVitest('failing', [], { CSPEC_FIXTURE_BROKEN_SERVICE: '1' }).done;
    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(/service "echo" \(cspec\/debian:bookworm\) failed to start/);
    expect(run.output).toContain('config file missing');
    expect(run.output).not.toMatch(/✓|passed/);
    expectNoLeaks();
  });

  test('SIGKILL of the Vitest process mid-run leaves nothing behind within 5 s', async () => {
    const dir = await tempDir();
    const started = join(dir, 'started');
    const run = runVitest('failing', ['-t', 'hangs'], { CSPEC_FIXTURE_HANG: started });
    const deadline = Date.now() + 120_000;
    while (!(await readFile(started, 'utf8').catch(() => ''))) {
      if (Date.now() > deadline || run.child.exitCode !== null)
        throw new Error(`never started:\n${run.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    run.child.kill('SIGKILL');
    await run.done;
    expect(await waitForNoLeaks(5_000), run.output()).toBeUndefined();
  });
});

describe('projects and shards', () => {
  test('two projects that declare the same services share one of each', async () => {
    const run = await runVitest('projects').done;
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/Tests\s+2 passed/);
    expect(run.output.match(/\[cspec\] db \(cspec\/postgres:17\) ready in/g)).toHaveLength(1);
    expect(run.output.match(/\[cspec\] cache \(cspec\/redis:7\) ready in/g)).toHaveLength(1);
    expectNoLeaks();
  });

  test('each --shard starts the services for its own run', async () => {
    for (const shard of ['1/2', '2/2']) {
      const run = await runVitest('projects', [`--shard=${shard}`]).done;
      expect(run.code, run.output).toBe(0);
      expect(run.output).toMatch(/Tests\s+1 passed/);
      expectNoLeaks();
    }
  });
});

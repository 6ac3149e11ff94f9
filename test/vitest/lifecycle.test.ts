/**
 * The plugin across Vitest's lifecycle, end to end on a copy of
 * fixtures/vitest/lifecycle: watch mode restarting on a config change,
 * Ctrl-C and other signals to a run, and workers that die in the middle of a
 * test while they own containers. After each, the host must hold nothing of
 * cspec's, and no worker process may outlive its run.
 */
import { cp, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { expectNoLeaks, hostResources, waitForNoLeaks } from '../support/leaks.js';
import { fixtureDir, runVitest, trackVitestRuns, until, type VitestRun, watchVitest } from './run-vitest.js';

const ROOT_MODULES = fileURLToPath(new URL('../../node_modules', import.meta.url));

// Runs, outliving workers and temporary directories a test leaves are ended after it.
const { runs, workers, temps, cleanup } = trackVitestRuns();
afterEach(cleanup);

/** A copy of the lifecycle fixture that a test may edit, resolving cspec from this repository. */
async function copyOfFixture(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cspec-lifecycle-'));
  temps.push(dir);
  // Not the fixture's node_modules: Vitest keeps its cache there after a run in the fixture itself.
  const source = fixtureDir('lifecycle');
  await cp(source, dir, {
    recursive: true,
    filter: (path) => !relative(source, path).split(sep).includes('node_modules'),
  });
  await writeFile(join(dir, 'package.json'), '{ "type": "module", "private": true }\n');
  await symlink(ROOT_MODULES, join(dir, 'node_modules'));
  return dir;
}

/** The lines the fixture's tests wrote to `file`, once there are at least `count`. */
function lines(run: VitestRun, file: string, count: number): Promise<string[]> {
  return until(`${count} line(s) in ${file}`, run, async () => {
    const found = (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean);
    return found.length >= count ? found : undefined;
  });
}

function printed(run: VitestRun, pattern: RegExp): number {
  return run.output().match(new RegExp(pattern, 'g'))?.length ?? 0;
}

/** Waits for the `count`-th end of a run in watch mode. */
function idle(run: VitestRun, count: number): Promise<true> {
  return until(`watch-mode run #${count} to end`, run, async () =>
    printed(run, /Waiting for file changes/) >= count ? true : undefined,
  );
}

const READY = /\[cspec\] greeter \(cspec\/debian:bookworm\) ready in/;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('watch mode', () => {
  test('a config change restarts the services, a test edit does not, and q leaves nothing', async () => {
    const dir = await copyOfFixture();
    const out = join(dir, 'runs.txt');
    const run = watchVitest(dir, { CSPEC_FIXTURE_OUT: out });
    runs.push(run);

    const [first] = await lines(run, out, 1);
    await idle(run, 1);
    const [firstId, firstGreeting] = (first as string).split(' ');
    expect(firstGreeting).toBe('first');
    expect(hostResources().containerDirs).toEqual([firstId]);

    // A config change: Vitest tears the run down and starts it again with the new value.
    const config = join(dir, 'vitest.config.ts');
    const text = await readFile(config, 'utf8');
    expect(text).toContain("const GREETING = 'first';");
    await writeFile(config, text.replace("const GREETING = 'first';", "const GREETING = 'second';"));
    const [, second] = await lines(run, out, 2);
    await idle(run, 2);
    const [secondId, secondGreeting] = (second as string).split(' ');
    expect(secondGreeting).toBe('second');
    expect(secondId).not.toBe(firstId);
    // The first run's container is gone; only the new one runs.
    expect(hostResources().containerDirs).toEqual([secondId]);
    expect(printed(run, READY)).toBe(2);

    // A test file edit: the tests run again against the same service.
    const testFile = join(dir, 'test/lifecycle.test.ts');
    await writeFile(testFile, `${await readFile(testFile, 'utf8')}\n// edited\n`);
    const [, , third] = await lines(run, out, 3);
    await idle(run, 3);
    expect(third).toBe(second);
    expect(printed(run, READY)).toBe(2);
    expect(printed(run, /Tests {2}1 passed/)).toBe(3);

    // q quits: Vitest calls the plugin's teardown, which removes the service before Vitest exits.
    run.child.stdin?.write('q');
    const { code } = await run.done;
    expect(code, run.output()).toBe(0);
    expectNoLeaks();
  });
});

/** Runs the fixture's scenario test until it has started its containers: returns their owner's pid and ids. */
async function startScenario(scenario: 'hang' | 'crash', pool: 'forks' | 'threads') {
  const dir = await mkdtemp(join(tmpdir(), 'cspec-lifecycle-'));
  temps.push(dir);
  const out = join(dir, 'containers.txt');
  const run = runVitest('lifecycle', [], {
    CSPEC_FIXTURE_SCENARIO: scenario,
    CSPEC_FIXTURE_POOL: pool,
    CSPEC_FIXTURE_OUT: out,
  });
  runs.push(run);
  const [line] = await lines(run, out, 1);
  const [pid, withContainerId, detachedId] = (line as string).split(' ');
  workers.push({ pid: Number(pid), marker: out });
  return { run, workerPid: Number(pid), ids: [withContainerId as string, detachedId as string] };
}

describe('signals to a run', () => {
  test.for([
    ['SIGINT', 'forks'],
    ['SIGINT', 'threads'],
    ['SIGTERM', 'forks'],
    ['SIGKILL', 'forks'],
  ] as const)('%s to Vitest mid-test (%s pool) leaves nothing within 5 s, workers included', async ([
    signal,
    pool,
  ]) => {
    const { run, workerPid, ids } = await startScenario('hang', pool);
    expect(hostResources().containerDirs).toEqual(expect.arrayContaining(ids));
    const sent = performance.now();
    run.child.kill(signal);
    const { code } = await run.done;
    expect(code).not.toBe(0);
    expect(await waitForNoLeaks(5_000), run.output()).toBeUndefined();
    // The worker that owned the containers is gone too (a thread's pid is Vitest's own).
    await until('the worker to exit', run, async () => (isAlive(workerPid) ? undefined : true), 5_000);
    console.log(`${signal} (${pool}): nothing left after ${Math.round(performance.now() - sent)} ms`);
  });
});

describe('a worker that dies mid-test', () => {
  test.for([
    'forks',
    'threads',
  ] as const)('%s: its withContainer and detached containers are gone within 5 s, the run fails', async (pool) => {
    const { run, ids } = await startScenario('crash', pool);
    const begun = performance.now();
    // The worker is dead once it wrote the ids; its containers must go while the run still holds its service.
    await until(
      'the dead worker’s containers to be removed',
      run,
      async () => (ids.some((id) => hostResources().containerDirs.includes(id)) ? undefined : true),
      5_000,
    );
    const gone = Math.round(performance.now() - begun);
    const { code, output } = await run.done;
    expect(code, output).toBe(1);
    expect(output).toMatch(/Worker exited unexpectedly/);
    expectNoLeaks();
    console.log(`${pool} worker died: its containers were gone after ${gone} ms`);
  });
});

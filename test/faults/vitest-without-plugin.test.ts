/**
 * A plain Vitest run without the cspec plugin (fixtures/vitest/no-plugin):
 * its test starts containers with `GenericContainer` and `withContainer` and
 * hangs, one of them on a testcontainers-style `Network`. When Vitest's main
 * process ends by SIGKILL, SIGTERM or SIGINT, the runtime itself must notice
 * that the process tree owning the worker's session is gone: within 5 s no
 * container, mount, cgroup, netns, bridge, firewall rule, runc process or
 * state directory may remain, and a worker left behind must be harmless
 * (it can start nothing more).
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { hostResources } from '../support/leaks.js';
import { runVitest, trackVitestRuns, until, type VitestRun } from '../vitest/run-vitest.js';

type Pool = 'forks' | 'threads' | 'vmForks' | 'vmThreads';

// Runs, outliving workers and temporary directories a test leaves are ended after it.
const { runs, workers, temps, cleanup } = trackVitestRuns();
afterEach(cleanup);

/** Polls every 50 ms: the signal-to-clean timings are what these tests measure. */
const untilGone = <T>(what: string, run: VitestRun, probe: () => Promise<T | undefined>, ms: number) =>
  until(what, run, probe, ms, 50);

async function outLines(file: string): Promise<string[]> {
  return (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean);
}

/** Runs the fixture until its test has started its two containers. */
async function start(pool: Pool, hang: 'async' | 'blocked') {
  const dir = await mkdtemp(join(tmpdir(), 'cspec-no-plugin-'));
  temps.push(dir);
  const out = join(dir, 'out.txt');
  const run = runVitest('no-plugin', [], {
    CSPEC_FIXTURE_POOL: pool,
    CSPEC_FIXTURE_OUT: out,
    CSPEC_FIXTURE_HANG: hang,
  });
  runs.push(run);
  const [line] = await untilGone(
    'the test to start its containers',
    run,
    async () => {
      const found = await outLines(out);
      return found.length > 0 ? found : undefined;
    },
    120_000,
  );
  const [pid, genericId, withContainerId, port] = (line as string).split(' ');
  workers.push({ pid: Number(pid), marker: out });
  return { run, out, workerPid: Number(pid), ids: [genericId, withContainerId], port: Number(port) };
}

/** Whether a `pid ppid pgid state args` line of hostResources().runcProcesses is a zombie child of `parent`. */
function isZombieOf(line: string, parent: number): boolean {
  const [, ppid, , state] = line.split(/\s+/);
  return Number(ppid) === parent && state?.startsWith('Z') === true;
}

async function waitForNoLeaks(ms: number, harmless: (runcLine: string) => boolean) {
  const end = Date.now() + ms;
  for (;;) {
    const found = hostResources();
    const real = { ...found, runcProcesses: found.runcProcesses.filter((l) => !harmless(l)) };
    if (!Object.values(real).some((v) => (Array.isArray(v) ? v.length > 0 : v > 0))) return undefined;
    if (Date.now() > end) return real;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Whether something accepts connections on 127.0.0.1:`port`. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('Vitest without the plugin, its main process ended mid-test', () => {
  test.for([
    ['SIGKILL', 'forks', 'async'],
    ['SIGTERM', 'forks', 'async'],
    ['SIGINT', 'forks', 'async'],
    ['SIGKILL', 'forks', 'blocked'],
    ['SIGKILL', 'vmForks', 'async'],
    ['SIGKILL', 'threads', 'async'],
    ['SIGTERM', 'threads', 'async'],
    ['SIGINT', 'threads', 'async'],
    ['SIGKILL', 'vmThreads', 'async'],
  ] as const)('%s, %s pool, test %s: nothing left within 5 s', async ([signal, pool, hang]) => {
    const { run, out, workerPid, ids, port } = await start(pool, hang);
    expect(await listening(port)).toBe(true);
    const during = hostResources();
    expect(during.containerDirs).toEqual(expect.arrayContaining(ids));
    // The test's network: its bridge and FORWARD rule (gone with the rest below).
    expect(during.links.filter((l) => l.startsWith('csbr'))).toHaveLength(1);
    expect(during.forwardRules).toHaveLength(1);
    const sent = performance.now();
    run.child.kill(signal);
    await run.done;
    // A worker blocked in synchronous code cannot reap its runc children: their zombies hold nothing.
    const left = await waitForNoLeaks(5_000, (line) => hang === 'blocked' && isZombieOf(line, workerPid));
    const took = Math.round(performance.now() - sent);
    expect(left, `left ${took} ms after ${signal}; Vitest printed:\n${run.output()}`).toBeUndefined();
    console.log(`${signal} (${pool}, ${hang}): nothing left after ${took} ms`);
    if (pool === 'threads' || pool === 'vmThreads') {
      // The worker was a thread of the main process: gone with it.
      expect(isAlive(workerPid)).toBe(false);
    } else if (hang === 'async') {
      // The orphaned worker lives on in its hanging test, but can start nothing more.
      const late = await untilGone(
        'the orphaned worker to try another container',
        run,
        async () => {
          const found = await outLines(out);
          return found.length > 1 ? found[1] : undefined;
        },
        5_000,
      );
      expect(late).toBe('refused CSPEC_SESSION_ENDED');
      expect(await waitForNoLeaks(1_000, () => false)).toBeUndefined();
      // Nor does it keep the published port of a container that is gone.
      expect(await listening(port)).toBe(false);
    }
  });
});

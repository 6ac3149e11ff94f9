/**
 * Rootless networking as an ordinary user (test/support/rootless-user.ts: a
 * user with a subordinate range and directories of its own, as CI makes it).
 * network-driver.ts runs as the user and drives the network manager directly
 * — namespaces made by it, a TCP server started in one of them through the
 * user namespace standing in for a container; engine-network-driver.ts starts
 * real containers with a rootless engine. The checks run from the host: a
 * published port answers on 127.0.0.1, members of a network reach each other
 * by name and alias, nothing routes out of the rootless namespace, and nothing
 * of the user's is left (processes, namespace files, records) once a driver
 * ends — or is killed — and a sweep has run.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { fetchText } from '../network/helpers.js';
import { expectNoLeaks } from '../support/leaks.js';
import { ensureRootlessUser, openRootlessWorld, type RootlessWorld } from '../support/rootless-user.js';

const DRIVER = 'test/rootless/network-driver.ts';
const ENGINE_DRIVER = 'test/rootless/engine-network-driver.ts';

interface Step {
  readonly step: string;
  readonly [key: string]: unknown;
}

/** A driver run as the user: its steps as they come; SIGTERM ends it. */
interface DriverRun {
  readonly child: ChildProcess;
  next(): Promise<Step>;
  finish(): Promise<Step[]>;
}

describe('rootless networking (as an ordinary user)', () => {
  let world: RootlessWorld;
  const runDir = () => world.dirs.run;
  const running: ChildProcess[] = [];

  /** The user's processes started by this test (their environment names the test's directory). */
  const ownProcesses = () =>
    readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return (
            readFileSync(`/proc/${p}/status`, 'utf8').match(/^Uid:\s+(\d+)/m)?.[1] ===
              String(world.user.uid) && readFileSync(`/proc/${p}/environ`, 'utf8').includes(runDir())
          );
        } catch {
          return false;
        }
      })
      .map((p) => `${p} ${readFileSync(`/proc/${p}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()}`);

  /** Files under the run directory, less the hosts files the driver writes and the address pools' hints. */
  const filesLeft = (): string[] => {
    const out: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) walk(p);
        else out.push(relative(runDir(), p));
      }
    };
    if (existsSync(runDir())) walk(runDir());
    return out.filter((f) => !f.startsWith('hosts/') && !f.endsWith('/.last'));
  };

  function drive(scenario: string | undefined, driver = DRIVER): DriverRun {
    const child = world.spawn(driver, scenario ? [scenario] : []);
    running.push(child);
    let stderr = '';
    child.stderr!.on('data', (d) => {
      stderr += d;
    });
    const lines = createInterface({ input: child.stdout! });
    const queue: Step[] = [];
    const waiting: ((s: Step) => void)[] = [];
    lines.on('line', (line) => {
      const step = JSON.parse(line) as Step;
      const w = waiting.shift();
      if (w) w(step);
      else queue.push(step);
    });
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    const next = () =>
      queue.length > 0
        ? Promise.resolve(queue.shift()!)
        : Promise.race([
            new Promise<Step>((resolve) => waiting.push(resolve)),
            exited.then(() => ({ step: 'exited', stderr }) as Step),
          ]);
    return {
      child,
      next,
      async finish() {
        child.kill('SIGTERM');
        await exited;
        return queue.splice(0);
      },
    };
  }

  /** Whether process `pid` runs (one that exited and waits for init to reap it does not). */
  const runs = (pid: number) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
    } catch {
      return false;
    }
  };

  /** Polls for up to 5 s until none of the test's processes of the user is left; what is left. */
  async function processesGone(): Promise<string[]> {
    for (let i = 0; i < 100 && ownProcesses().length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    return ownProcesses();
  }

  beforeAll(async () => {
    world = await openRootlessWorld(ensureRootlessUser());
  });

  afterEach(async () => {
    for (const c of running.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
    // Nothing of it ever shows on the host: no namespace, link, mount or rule of root's kind either.
    expectNoLeaks();
  });

  afterAll(async () => {
    await world?.close();
  });

  test('a published port answers on 127.0.0.1 of the host; a taken port is refused; nothing is left', async () => {
    const run = drive('publish');
    const published = await run.next();
    expect(published.step, JSON.stringify(published)).toBe('published');
    const ports = published.ports as number[];
    for (const port of ports) expect(await fetchText('127.0.0.1', port)).toBe('hello from c1\n');
    expect(published.taken).toBe('CSPEC_INVALID_SPEC');
    // The rootless namespace routes nowhere but to its own links: no default route, nothing leaves.
    expect(published.routes).not.toMatch(/default/);
    // Its links are not on the host.
    const link = `cs${String(published.netnsPath).split('/').pop()!.slice(2, 12)}`;
    expect(existsSync(`/sys/class/net/${link}`)).toBe(false);
    expect(published.forwarder).toHaveLength(1);

    const closed = await run.finish();
    expect(closed.at(-1)).toMatchObject({ step: 'closed' });
    expect(await processesGone()).toEqual([]);
    // The rootless namespace's files (empty now, its holder gone) wait for a sweep; nothing else is left.
    expect(
      filesLeft().every((f) => /^netns\/rl-\d+-\d+$/.test(f)),
      filesLeft().join(' '),
    ).toBe(true);
    const swept = drive('sweep');
    expect(await swept.next()).toMatchObject({ step: 'swept' });
    await swept.finish();
    expect(filesLeft()).toEqual([]);
    expect(await processesGone()).toEqual([]);
  });

  test('a namespace made ahead (the netns pool) serves a published port; closing removes the rest', async () => {
    const run = drive('pool');
    const published = await run.next();
    expect(published.step, JSON.stringify(published)).toBe('published');
    expect(published.ready).toHaveLength(2);
    expect(published.ready).toContain(String(published.netnsPath).split('/').pop());
    expect(await fetchText('127.0.0.1', (published.ports as number[])[0]!)).toBe('hello from c1\n');

    const closed = await run.finish();
    expect(closed.at(-1)).toMatchObject({
      step: 'closed',
      netns: [expect.stringMatching(/^rl-/), expect.stringMatching(/^rl-.*\.sys$/)],
    });
    expect(await processesGone()).toEqual([]);
    const swept = drive('sweep');
    expect(await swept.next()).toMatchObject({ step: 'swept' });
    await swept.finish();
    expect(filesLeft()).toEqual([]);
  });

  test('two members of a network reach each other by alias and by name', async () => {
    const run = drive('network');
    const reached = await run.next();
    expect(reached.step, JSON.stringify(reached)).toBe('reached');
    expect(reached).toMatchObject({ byAlias: 'hello from a\n', byName: 'hello from a\n' });
    expect(reached.listed).toEqual([reached.network]);
    expect(reached.routes).not.toMatch(/default/);
    // The network's bridge is in the rootless namespace, not on the host.
    const record = JSON.parse(
      readFileSync(join(runDir(), 'networks', `${String(reached.network)}.json`), 'utf8'),
    ) as { bridge: string };
    expect(existsSync(`/sys/class/net/${record.bridge}`)).toBe(false);

    await run.finish();
    expect(await processesGone()).toEqual([]);
    const swept = drive('sweep');
    expect(await swept.next()).toMatchObject({ step: 'swept' });
    await swept.finish();
    expect(filesLeft()).toEqual([]);
  });

  test('the port forwarder ends when its owner is killed; a sweep removes what the owner left', async () => {
    const run = drive('publish');
    const published = await run.next();
    expect(published.step, JSON.stringify(published)).toBe('published');
    const port = (published.ports as number[])[0]!;
    expect(await fetchText('127.0.0.1', port)).toBe('hello from c1\n');
    const [forwarder] = published.forwarder as number[];

    // setpriv execs: the child is the driver itself.
    run.child.kill('SIGKILL');
    // The stand-in server is not a container (no runtime ends it with its owner): the test does.
    process.kill(published.server as number, 'SIGKILL');
    expect(await processesGone()).toEqual([]);
    expect(runs(forwarder!)).toBe(false);
    expect(runs(published.holder as number)).toBe(false);
    // Nothing listens on the port any more.
    await expect(fetchText('127.0.0.1', port, 1000)).rejects.toThrow(/ECONNREFUSED/);

    const swept = drive('sweep');
    expect(await swept.next()).toMatchObject({ step: 'swept' });
    await swept.finish();
    expect(filesLeft()).toEqual([]);
    expect(await processesGone()).toEqual([]);
  });

  test('real containers: a published port answers on 127.0.0.1; two on a network made by `cspec network create` reach each other by alias and name', async () => {
    const cli = (args: readonly string[]) => world.cli(args);
    const created = await cli(['network', 'create', 'rl-cli']);
    expect(created.status, created.stderr).toBe(0);
    const listed = await cli(['network', 'ls', '--json']);
    expect(JSON.parse(listed.stdout)).toMatchObject([
      { name: 'rl-cli', subnet: expect.stringMatching(/^10\.89\./) },
    ]);
    const run = drive('rl-cli', ENGINE_DRIVER);
    const published = await run.next();
    expect(published.step, JSON.stringify(published)).toBe('published');
    expect(await fetchText('127.0.0.1', published.port as number)).toBe('hello from web\n');
    // Its ports would end with this process: refused, and nothing of it is left (checked below).
    expect(published.detachedPorts).toBe('CSPEC_HOST_UNSUPPORTED');
    const reached = await run.next();
    expect(reached.step, JSON.stringify(reached)).toBe('reached');
    expect(reached).toMatchObject({ exit: { exitCode: 0 }, logs: 'hello from db\nhello from db\n' });

    const closed = await run.finish();
    expect(closed.at(-1)).toMatchObject({ step: 'closed' });
    expect(await processesGone()).toEqual([]);
    const removed = await cli(['network', 'rm', 'rl-cli']);
    expect(removed.status, removed.stderr).toBe(0);
    expect((await cli(['network', 'rm', 'rl-cli'])).stderr).toMatch(/network "rl-cli" does not exist/);
    const swept = drive('sweep');
    expect(await swept.next()).toMatchObject({ step: 'swept' });
    await swept.finish();
    expect(filesLeft()).toEqual([]);
    expect(await processesGone()).toEqual([]);
  });

  test('real containers: SIGKILL of the owner leaves no process, namespace file or record within 5 s', async () => {
    const run = drive(undefined, ENGINE_DRIVER);
    const published = await run.next();
    expect(published.step, JSON.stringify(published)).toBe('published');
    expect(await run.next()).toMatchObject({ step: 'reached' });
    const killedAt = Date.now();
    // setpriv execs: the child is the driver itself.
    run.child.kill('SIGKILL');
    let left: string[] = [];
    for (; Date.now() - killedAt < 5000; await new Promise((r) => setTimeout(r, 100))) {
      left = [...ownProcesses(), ...filesLeft()];
      if (left.length === 0) break;
    }
    expect(left).toEqual([]);
    await expect(fetchText('127.0.0.1', published.port as number, 1000)).rejects.toThrow(/ECONNREFUSED/);
  });
});

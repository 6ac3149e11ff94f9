/**
 * Networks belong to the session of the process that creates them: a
 * testcontainers-style `Network` of a process killed by SIGKILL goes within
 * 5 s with its bridge, firewall rule, /24 lease and name; `prune` removes one
 * whose watcher died too; and the name can be used again.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createEngine, isCspecError, resolveConfig } from '@cspec/runtime';
import { afterEach, describe, expect, it } from 'vitest';
import { subnetPool } from '../../packages/runtime/src/network/pools.js';
import { expectNoLeaks, hostResources } from '../support/leaks.js';
import { childPids } from '../vitest/run-vitest.js';

const OWNER = new URL('../support/network-owner.ts', import.meta.url).pathname;
const config = resolveConfig();

interface NetworkRecord {
  readonly bridge: string;
  readonly subnet: string;
}

const owners: ChildProcess[] = [];
const names: string[] = [];
afterEach(async () => {
  for (const owner of owners.splice(0)) owner.kill('SIGKILL');
  // A failed test must not leave its network for the next one.
  const engine = await createEngine();
  try {
    for (const name of names.splice(0)) await engine.removeNetwork(name).catch(() => {});
    await engine.prune();
  } finally {
    await engine.close();
  }
});

function uniqueName(): string {
  const name = `cspec-fault-net-${Math.random().toString(16).slice(2, 8)}`;
  names.push(name);
  return name;
}

function startOwner(name: string, withContainer: boolean): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions',
      'cspec-source',
      OWNER,
      name,
      ...(withContainer ? ['with-container'] : []),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  owners.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes(`ready ${name}\n`)) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`the network owner exited early with ${code}: ${out}`)));
  });
}

function record(name: string): NetworkRecord | undefined {
  try {
    return JSON.parse(readFileSync(join(config.runDir, 'networks', `${name}.json`), 'utf8')) as NetworkRecord;
  } catch {
    return undefined;
  }
}

/** What of the network is still on the host: its record, bridge, FORWARD rule and subnet lease. */
async function remains(name: string, { bridge, subnet }: NetworkRecord): Promise<string[]> {
  const left: string[] = [];
  if (record(name)) left.push('name');
  if (existsSync(`/sys/class/net/${bridge}`)) left.push('bridge');
  const rules = execFileSync('iptables', ['-w', '5', '-S', 'FORWARD'], { encoding: 'utf8' });
  if (rules.includes(bridge)) left.push('FORWARD rule');
  const leases = await subnetPool(config).leases();
  if (leases.some((l) => l.owner === bridge || l.address === subnet.split('/')[0])) left.push('lease');
  return left;
}

async function until(ms: number, probe: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  while (!(await probe())) {
    if (Date.now() - start > ms) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - start;
}

/** The name is free again: a new network of that name can be created (and is then removed). */
async function createAgain(name: string): Promise<void> {
  const engine = await createEngine();
  try {
    const again = await engine.createNetwork(name);
    expect(again.name).toBe(name);
  } finally {
    await engine.close();
  }
}

describe('a network whose process is killed', () => {
  it.for([
    ['without containers', false],
    ['with a container on it', true],
  ] as const)('%s: SIGKILL leaves no bridge, rule, lease or name within 5 s', async ([, withContainer]) => {
    const name = uniqueName();
    const owner = await startOwner(name, withContainer);
    const held = record(name);
    expect(held).toBeDefined();
    expect(await remains(name, held as NetworkRecord)).toEqual(['name', 'bridge', 'FORWARD rule', 'lease']);
    owner.kill('SIGKILL');
    const took = await until(5_000, async () => (await remains(name, held as NetworkRecord)).length === 0);
    expect(await remains(name, held as NetworkRecord), `after ${took} ms`).toEqual([]);
    console.log(`network ${withContainer ? 'with' : 'without'} a container: gone ${took} ms after SIGKILL`);
    expect(hostResources().containerDirs).toEqual([]);
    await createAgain(name);
    expectNoLeaks();
  });

  it('prune removes it when its watcher died as well, and reports it', async () => {
    const name = uniqueName();
    const owner = await startOwner(name, false);
    const held = record(name) as NetworkRecord;
    // The session watcher is the owner's child running watcher-main; kill it first, then the owner.
    const watchers = childPids(owner.pid as number).filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('watcher-main');
      } catch {
        return false;
      }
    });
    expect(watchers).toHaveLength(1);
    for (const pid of watchers) process.kill(pid, 'SIGKILL');
    owner.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    expect(await remains(name, held)).toEqual(['name', 'bridge', 'FORWARD rule', 'lease']);

    const engine = await createEngine();
    try {
      const report = await engine.prune();
      expect(report.networksRemoved).toBeGreaterThanOrEqual(1);
    } finally {
      await engine.close();
    }
    expect(await remains(name, held)).toEqual([]);
    await createAgain(name);
    expectNoLeaks();
  });
});

describe('who owns a network', () => {
  it("a library network is the session's; a detached container cannot join it; a detached network stays", async () => {
    const engine = await createEngine();
    const kept = uniqueName();
    let owned = '';
    try {
      owned = (await engine.createNetwork()).name;
      await engine.createNetwork(kept, { detached: true });
      const error = await engine
        .run(
          { image: 'cspec/debian:bookworm', command: ['true'], networks: [{ network: owned }] },
          { detached: true },
        )
        .catch((e: unknown) => e);
      expect(isCspecError(error, 'CSPEC_INVALID_SPEC'), String(error)).toBe(true);
      expect((error as Error).message).toMatch(
        /detached container cannot join network ".*" — the network belongs to the session/,
      );
      expect(hostResources().containerDirs).toEqual([]);
    } finally {
      await engine.close();
    }
    const other = await createEngine();
    try {
      const left = (await other.listNetworks()).map((n) => n.name);
      expect(left).toContain(kept);
      expect(left).not.toContain(owned);
      await other.removeNetwork(kept);
    } finally {
      await other.close();
    }
    expectNoLeaks();
  });
});

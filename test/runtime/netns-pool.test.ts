import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { type Container, createEngine, resolveConfig } from '@cspec/runtime';
import { describe, expect, it } from 'vitest';
import { ask, echoServer } from '../support/echo-server.js';
import { expectNoLeaks, hostResources, pooledByLiveSessions } from '../support/leaks.js';

const { runDir } = resolveConfig();

const echo = echoServer('echo');

interface OwnerRecord {
  readonly containerId: string;
  readonly netns: string;
  readonly p2pBlock: string;
  readonly pooledBy?: string;
}

function ownerRecords(): OwnerRecord[] {
  const dir = `${runDir}/container-networks`;
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /^[0-9a-f]+\.json$/.test(f))
    .map((f) => JSON.parse(readFileSync(`${dir}/${f}`, 'utf8')) as OwnerRecord);
}

function netnsOf(c: Container): string {
  const state = JSON.parse(readFileSync(`${runDir}/containers/${c.id}/state.json`, 'utf8')) as {
    network: { netns: string };
  };
  return state.network.netns;
}

async function until(what: string, check: () => boolean): Promise<void> {
  const end = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('network namespaces made ahead', () => {
  it('after a second container with ports, its removal makes one that the next container gets', async () => {
    const engine = await createEngine();
    try {
      const first = await engine.run(echo);
      await first.remove();
      // One container so far: a process that starts a single one never pays for the pool.
      expect(ownerRecords().filter((r) => r.pooledBy)).toEqual([]);
      const second = await engine.run(echo);
      const secondNetns = netnsOf(second);
      await second.remove();
      await until('a namespace made ahead', () => pooledByLiveSessions().netns.size === 1);
      const [made] = ownerRecords().filter((r) => r.pooledBy);
      expect(made!.netns).not.toBe(secondNetns);
      // Not a leak while the engine lives: recorded, with its lease.
      expect(hostResources().netns).toEqual([]);
      expect(readFileSync(`${runDir}/ipam/p2p/${made!.p2pBlock}`, 'utf8').trim()).toBe(made!.containerId);

      const third = await engine.run(echo);
      expect(netnsOf(third)).toBe(made!.netns);
      expect(await ask(third.mappedPort(7000), 'hi')).toBe('echo: hi');
      // The record and the lease are the container's now.
      const records = ownerRecords();
      expect(records.filter((r) => r.netns === made!.netns)).toEqual([
        expect.objectContaining({ containerId: third.id, netns: made!.netns }),
      ]);
      expect(records.find((r) => r.netns === made!.netns)?.pooledBy).toBeUndefined();
      expect(readFileSync(`${runDir}/ipam/p2p/${made!.p2pBlock}`, 'utf8').trim()).toBe(third.id);
      await third.remove();
      await until('the replacement', () => pooledByLiveSessions().netns.size === 1);
    } finally {
      await engine.close();
    }
    // close() removes what it made ahead.
    expect(ownerRecords()).toEqual([]);
    expectNoLeaks();
  });

  it("another engine's prune leaves a live engine's namespaces alone", async () => {
    const engine = await createEngine();
    try {
      for (let i = 0; i < 2; i++) await (await engine.run(echo)).remove();
      await until('a namespace made ahead', () => pooledByLiveSessions().netns.size === 1);
      const [netns] = [...pooledByLiveSessions().netns];
      const other = await createEngine();
      await other.prune();
      await other.close();
      expect(existsSync(`/run/netns/${netns}`)).toBe(true);
      // And it still works for the owner.
      const next = await engine.run(echo);
      expect(netnsOf(next)).toBe(netns);
      expect(await ask(next.mappedPort(7000), 'still')).toBe('echo: still');
    } finally {
      await engine.close();
    }
    expectNoLeaks();
  });

  it('CSPEC_NETNS_POOL=0 (netnsPoolSize: 0) turns it off', async () => {
    const engine = await createEngine({ netnsPoolSize: 0 });
    try {
      for (let i = 0; i < 3; i++) await (await engine.run(echo)).remove();
      await new Promise((r) => setTimeout(r, 200));
      expect(ownerRecords()).toEqual([]);
    } finally {
      await engine.close();
    }
    expectNoLeaks();
  });

  it('a namespace removed behind its back is not handed out', async () => {
    const engine = await createEngine();
    try {
      for (let i = 0; i < 2; i++) await (await engine.run(echo)).remove();
      await until('a namespace made ahead', () => pooledByLiveSessions().netns.size === 1);
      const [netns] = [...pooledByLiveSessions().netns];
      const { execFileSync } = await import('node:child_process');
      execFileSync('ip', ['netns', 'del', netns!]);
      const next = await engine.run(echo);
      expect(netnsOf(next)).not.toBe(netns);
      expect(await ask(next.mappedPort(7000), 'fresh')).toBe('echo: fresh');
      // What was left of it (its link, lease and record) is gone.
      expect(ownerRecords().filter((r) => r.netns === netns)).toEqual([]);
    } finally {
      await engine.close();
    }
    expectNoLeaks();
  });
});

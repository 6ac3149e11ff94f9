/**
 * User-defined networks on the real kernel: a bridge per network, members
 * reaching each other by name and alias through their hosts files, and
 * removal rules. Every test checks it left nothing behind.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import type { NetworkAttachment } from '../../packages/runtime/src/container/spec.js';
import { isCspecError } from '../../packages/runtime/src/errors.js';
import { createNetworkManager } from '../../packages/runtime/src/network/network-manager.js';
import {
  config,
  connectOutcome,
  fetchText,
  filterBridgedTraffic,
  forwardRules,
  leftovers,
  listenerIn,
  newId,
  runInContainerView,
  stop,
  tempDir,
} from './helpers.js';

const manager = createNetworkManager(config);
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Run in a member's view: connects to the `postgres` alias, prints what it says; fails after 5 s. */
const CONNECT_TO_POSTGRES_ALIAS =
  "require('net').connect(5432, 'postgres').setTimeout(5000, () => { console.error('timed out'); process.exit(1); }).on('data', (d) => { process.stdout.write(d); process.exit(0); }).on('error', (e) => { console.error(e.message); process.exit(1); })";

function networkName(): string {
  return `test-net-${randomBytes(4).toString('hex')}`;
}

function bridgesOf(names: readonly string[]): string[] {
  const records = names
    .map((n) => join(config.runDir, 'networks', `${n}.json`))
    .filter(existsSync)
    .map((p) => JSON.parse(readFileSync(p, 'utf8')) as { bridge: string });
  return records.map((r) => r.bridge);
}

async function newNetwork(): Promise<string> {
  const name = networkName();
  await manager.createNetwork(name, { labels: { 'dev.cspec.test': 'true' } });
  cleanups.push(() => manager.removeNetwork(name).catch(() => {}));
  return name;
}

async function member(dir: string, name: string, networks: NetworkAttachment[], publishesPorts = false) {
  const id = newId();
  const setup = await manager.setupContainer({
    containerId: id,
    name,
    hostname: id.slice(0, 12),
    hostsFile: join(dir, `${name}-hosts`),
    publishesPorts,
    networks,
  });
  return { id, name, setup };
}

describe('user-defined networks', () => {
  test('create, list, reject duplicates and invalid names, remove', async () => {
    const name = networkName();
    const info = await manager.createNetwork(name);
    const [bridge] = bridgesOf([name]);
    try {
      expect(info.subnet).toMatch(/^10\.89\.\d+\.0\/24$/);
      expect(info.gateway).toBe(info.subnet.replace(/0\/24$/, '1'));
      expect(bridge).toMatch(/^csbr[0-9a-f]{8}$/);
      expect(existsSync(`/sys/class/net/${bridge}`)).toBe(true);
      expect((await manager.listNetworks()).filter((n) => n.name === name)).toEqual([info]);

      const duplicate = await manager.createNetwork(name).catch((e: unknown) => e);
      expect(isCspecError(duplicate, 'CSPEC_NAME_IN_USE')).toBe(true);
      const invalid = await manager.createNetwork('-bad name').catch((e: unknown) => e);
      expect(isCspecError(invalid, 'CSPEC_INVALID_SPEC')).toBe(true);
      // The failed attempts created no bridge and took no subnet.
      expect(bridgesOf([name])).toEqual([bridge]);
      const subnets = readFileSync(
        join(config.runDir, 'ipam', 'subnets', info.subnet.split('/')[0]!),
        'utf8',
      );
      expect(subnets.trim()).toBe(bridge);
    } finally {
      await manager.removeNetwork(name);
    }
    expect(existsSync(`/sys/class/net/${bridge}`)).toBe(false);
    expect(existsSync(join(config.runDir, 'ipam', 'subnets', info.subnet.split('/')[0]!))).toBe(false);
    expect((await manager.listNetworks()).some((n) => n.name === name)).toBe(false);
    const missing = await manager.removeNetwork(name).catch((e: unknown) => e);
    expect(isCspecError(missing, 'CSPEC_NETWORK_NOT_FOUND')).toBe(true);
  });

  test('members reach each other by name and alias; hosts files follow joins and leaves in place', async () => {
    const dir = await tempDir();
    cleanups.push(dir.remove);
    const net = await newNetwork();
    const db = await member(dir.path, 'db', [{ network: net, aliases: ['postgres'] }]);
    const app = await member(dir.path, 'app', [{ network: net }], true);
    let listener: ChildProcess | undefined;
    try {
      expect(db.setup.ipAddress).not.toBe(app.setup.ipAddress);
      const appHosts = readFileSync(app.setup.state.hostsFile, 'utf8');
      expect(appHosts).toContain(`${db.setup.ipAddress}\tdb ${db.id.slice(0, 12)} postgres`);
      expect(appHosts).toContain(`${app.setup.ipAddress}\tapp ${app.id.slice(0, 12)}`);
      expect(readFileSync(db.setup.state.hostsFile, 'utf8')).toContain(`${app.setup.ipAddress}\tapp`);

      // From app's namespace, with its hosts file as /etc/hosts: resolve the alias and connect over the bridge.
      listener = await listenerIn(db.setup.state.netns!, 5432, 'db');
      const script = CONNECT_TO_POSTGRES_ALIAS;
      const result = await runInContainerView(app.setup.state.netns!, app.setup.state.hostsFile, script);
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe('hello from db');
      // The host reaches members through the bridge's gateway address.
      expect(await fetchText(db.setup.ipAddress!, 5432)).toBe('hello from db');

      // A third member appears in the others' hosts files, same inode (bind mounts keep seeing it).
      const inode = statSync(app.setup.state.hostsFile).ino;
      const cache = await member(dir.path, 'cache', [{ network: net, aliases: ['redis'] }]);
      expect(readFileSync(app.setup.state.hostsFile, 'utf8')).toContain(`${cache.setup.ipAddress}\tcache`);
      expect(statSync(app.setup.state.hostsFile).ino).toBe(inode);
      expect(await connectOutcome(cache.setup.ipAddress!, 9)).toBe('ECONNREFUSED');

      const busy = await manager.removeNetwork(net).catch((e: unknown) => e);
      expect(isCspecError(busy, 'CSPEC_NETWORK_FAILED')).toBe(true);
      expect((busy as Error).message).toMatch(/still has 3 container\(s\) attached: .*app/);

      await manager.teardownContainer(cache.setup.state);
      expect(readFileSync(app.setup.state.hostsFile, 'utf8')).not.toContain('cache');
      expect(leftovers([cache.id])).toEqual([]);
    } finally {
      await stop(listener);
      await manager.teardownContainer(app.setup.state);
      await manager.teardownContainer(db.setup.state);
    }
    expect(leftovers([db.id, app.id])).toEqual([]);
    const [bridge] = bridgesOf([net]);
    await manager.removeNetwork(net);
    expect(existsSync(`/sys/class/net/${bridge}`)).toBe(false);
  });

  test('members reach each other when the host filters bridged traffic with a DROP policy, as Docker leaves it', async (ctx) => {
    const restore = filterBridgedTraffic();
    if (!restore) ctx.skip(true, 'needs iptables and br_netfilter');
    const dir = await tempDir();
    cleanups.push(dir.remove);
    let listener: ChildProcess | undefined;
    let bridge: string | undefined;
    try {
      const net = await newNetwork();
      [bridge] = bridgesOf([net]);
      expect(forwardRules()).toContain(
        `-A FORWARD -i ${bridge} -o ${bridge} -m comment --comment cspec -j ACCEPT`,
      );
      const db = await member(dir.path, 'db', [{ network: net, aliases: ['postgres'] }]);
      const app = await member(dir.path, 'app', [{ network: net }]);
      try {
        listener = await listenerIn(db.setup.state.netns!, 5432, 'db');
        const result = await runInContainerView(
          app.setup.state.netns!,
          app.setup.state.hostsFile,
          CONNECT_TO_POSTGRES_ALIAS,
        );
        expect(result.stderr).toBe('');
        expect(result.stdout).toBe('hello from db');
      } finally {
        await stop(listener);
        await manager.teardownContainer(app.setup.state);
        await manager.teardownContainer(db.setup.state);
      }
      await manager.removeNetwork(net);
    } finally {
      restore?.();
    }
    expect(forwardRules()?.filter((r) => r.includes(bridge!))).toEqual([]);
  });

  test('a member that joins right after another left is reachable from the host at once', async () => {
    const dir = await tempDir();
    cleanups.push(dir.remove);
    const net = await newNetwork();
    const first = await member(dir.path, 'first', [{ network: net }]);
    let listener = await listenerIn(first.setup.state.netns!, 7000, 'first');
    // The host's ARP cache now maps first's address to first's interface.
    expect(await fetchText(first.setup.ipAddress!, 7000)).toBe('hello from first');
    await stop(listener);
    await manager.teardownContainer(first.setup.state);

    // Addresses go round robin: the one just freed is not handed out again yet, and the
    // newcomer answers the host at once (a reused address could stay unreachable for a minute).
    const second = await member(dir.path, 'second', [{ network: net }]);
    try {
      expect(second.setup.ipAddress).not.toBe(first.setup.ipAddress);
      listener = await listenerIn(second.setup.state.netns!, 7000, 'second');
      expect(await fetchText(second.setup.ipAddress!, 7000)).toBe('hello from second');
    } finally {
      await stop(listener);
      await manager.teardownContainer(second.setup.state);
    }
    expect(leftovers([first.id, second.id])).toEqual([]);
  });

  test('a container on two networks gets an address in each and the default route via the first', async () => {
    const dir = await tempDir();
    cleanups.push(dir.remove);
    const [front, back] = [await newNetwork(), await newNetwork()];
    const api = await member(dir.path, 'api', [
      { network: front },
      { network: back, aliases: ['api-internal'] },
    ]);
    const worker = await member(dir.path, 'worker', [{ network: back }]);
    try {
      const [frontInfo, backInfo] = (await manager.listNetworks()).filter(
        (n) => n.name === front || n.name === back,
      );
      expect(frontInfo && backInfo).toBeTruthy();
      const joined = api.setup.state.networks;
      expect(joined.map((j) => j.network)).toEqual([front, back]);
      expect(api.setup.ipAddress).toBe(joined[0]!.ipAddress);
      // The worker (only on back) sees api by its back address and alias, and does not see front-only names.
      const workerHosts = readFileSync(worker.setup.state.hostsFile, 'utf8');
      expect(workerHosts).toContain(`${joined[1]!.ipAddress}\tapi ${api.id.slice(0, 12)} api-internal`);
      expect(workerHosts).not.toContain(joined[0]!.ipAddress);
      expect(await connectOutcome(joined[1]!.ipAddress, 9)).toBe('ECONNREFUSED');
    } finally {
      await manager.teardownContainer(worker.setup.state);
      await manager.teardownContainer(api.setup.state);
    }
    expect(leftovers([api.id, worker.id])).toEqual([]);
  });

  test('8 containers joining one network in parallel all see each other', async () => {
    const dir = await tempDir();
    cleanups.push(dir.remove);
    const net = await newNetwork();
    const members = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        member(dir.path, `m${i}`, [{ network: net, aliases: [`alias${i}`] }]),
      ),
    );
    try {
      expect(new Set(members.map((m) => m.setup.ipAddress)).size).toBe(8);
      for (const m of members) {
        const hosts = readFileSync(m.setup.state.hostsFile, 'utf8');
        for (const other of members) expect(hosts).toContain(`${other.setup.ipAddress}\t${other.name} `);
      }
      const outcomes = await Promise.all(members.map((m) => connectOutcome(m.setup.ipAddress!, 9)));
      expect(outcomes).toEqual(Array(8).fill('ECONNREFUSED'));
    } finally {
      await Promise.all(members.map((m) => manager.teardownContainer(m.setup.state)));
    }
    expect(leftovers(members.map((m) => m.id))).toEqual([]);
  });

  test('sweep drops a dead member from the network and the survivors hosts files', async () => {
    const dir = await tempDir();
    cleanups.push(dir.remove);
    const net = await newNetwork();
    const ghost = await member(dir.path, 'ghost', [{ network: net }]);
    const alive = await member(dir.path, 'alive', [{ network: net }]);
    try {
      expect(readFileSync(alive.setup.state.hostsFile, 'utf8')).toContain('ghost');
      await manager.sweep({ container: (id) => id !== ghost.id, session: async () => true });
      expect(leftovers([ghost.id])).toEqual([]);
      expect(readFileSync(alive.setup.state.hostsFile, 'utf8')).not.toContain('ghost');
    } finally {
      await manager.teardownContainer(alive.setup.state);
    }
    expect(leftovers([alive.id])).toEqual([]);
  });
});

/**
 * Per-container networking on the real kernel: the hot path without a
 * namespace, a point-to-point veth for published ports, parallel setups,
 * failure paths and the sweep. Every test checks it left nothing behind.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { isCspecError } from '../../packages/runtime/src/errors.js';
import { runIp } from '../../packages/runtime/src/network/ip-command.js';
import { createNetworkManager } from '../../packages/runtime/src/network/network-manager.js';
import { createPortForwarder } from '../../packages/runtime/src/network/port-forwarder.js';
import { config, connectOutcome, fetchText, leftovers, listenerIn, newId, stop, tempDir } from './helpers.js';

const manager = createNetworkManager(config);
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function containerDir() {
  const dir = await tempDir();
  cleanups.push(dir.remove);
  return dir.path;
}

function request(dir: string, id: string, publishesPorts: boolean) {
  return {
    containerId: id,
    name: `c-${id.slice(0, 6)}`,
    hostname: id.slice(0, 12),
    hostsFile: join(dir, `${id.slice(0, 12)}-hosts`),
    publishesPorts,
    networks: [],
  };
}

describe('container networking', () => {
  test('a container without ports or networks gets only a hosts file and no namespace', async () => {
    const dir = await containerDir();
    const id = newId();
    const setup = await manager.setupContainer(request(dir, id, false));
    expect(setup.netnsPath).toBeUndefined();
    expect(setup.ipAddress).toBeUndefined();
    expect(readFileSync(join(dir, `${id.slice(0, 12)}-hosts`), 'utf8')).toContain(
      `127.0.1.1\t${id.slice(0, 12)}`,
    );
    expect(leftovers([id])).toEqual([]);
    await manager.teardownContainer(setup.state);
    expect(leftovers([id])).toEqual([]);
  });

  test('published ports: the host reaches a listener in the namespace directly and through a forwarder', async () => {
    const dir = await containerDir();
    const id = newId();
    const setup = await manager.setupContainer(request(dir, id, true));
    let listener: ChildProcess | undefined;
    try {
      expect(setup.netnsPath).toBe(`/run/netns/cs${id.slice(0, 12)}`);
      expect(existsSync(setup.netnsPath!)).toBe(true);
      expect(setup.ipAddress).toMatch(/^10\.88\.\d+\.\d+$/);
      expect(readFileSync(setup.state.hostsFile, 'utf8')).toContain(`${setup.ipAddress}\t${id.slice(0, 12)}`);
      expect(leftovers([id]).length).toBeGreaterThan(0);

      listener = await listenerIn(setup.state.netns!, 8080, 'inside');
      expect(await fetchText(setup.ipAddress!, 8080)).toBe('hello from inside');
      const forwarder = await createPortForwarder({ targetHost: setup.ipAddress!, targetPort: 8080 });
      try {
        expect(await fetchText('127.0.0.1', forwarder.hostPort)).toBe('hello from inside');
      } finally {
        await forwarder.close();
      }
    } finally {
      await stop(listener);
      await manager.teardownContainer(setup.state);
    }
    expect(leftovers([id])).toEqual([]);
    // Idempotent, and from a second manager (as another process would).
    await manager.teardownContainer(setup.state);
    await createNetworkManager(config).teardownContainer(setup.state);
    expect(leftovers([id])).toEqual([]);
  });

  test('8 setups in parallel all succeed with distinct, reachable addresses', async () => {
    const dir = await containerDir();
    const ids = Array.from({ length: 8 }, newId);
    const setups = await Promise.all(ids.map((id) => manager.setupContainer(request(dir, id, true))));
    try {
      const addresses = setups.map((s) => s.ipAddress!);
      expect(new Set(addresses).size).toBe(8);
      // A refused connection comes from the namespace's kernel: the address is routed there.
      const outcomes = await Promise.all(addresses.map((a) => connectOutcome(a, 9)));
      expect(outcomes).toEqual(Array(8).fill('ECONNREFUSED'));
    } finally {
      await Promise.all(setups.map((s) => manager.teardownContainer(s.state)));
    }
    expect(leftovers(ids)).toEqual([]);
  });

  test('an unknown network fails with CSPEC_NETWORK_NOT_FOUND and leaves nothing', async () => {
    const dir = await containerDir();
    const id = newId();
    const error = await manager
      .setupContainer({ ...request(dir, id, true), networks: [{ network: `missing-${id.slice(0, 8)}` }] })
      .catch((e: unknown) => e);
    expect(isCspecError(error, 'CSPEC_NETWORK_NOT_FOUND')).toBe(true);
    expect((error as { hint?: string }).hint).toContain('new Network().start()');
    expect(leftovers([id])).toEqual([]);
  });

  test('an aborted setup throws CSPEC_ABORTED and leaves nothing', async () => {
    const dir = await containerDir();
    const id = newId();
    const controller = new AbortController();
    const pending = manager.setupContainer(request(dir, id, true), { signal: controller.signal });
    queueMicrotask(() => controller.abort());
    const error = await pending.catch((e: unknown) => e);
    expect(isCspecError(error, 'CSPEC_ABORTED')).toBe(true);
    expect(leftovers([id])).toEqual([]);
  });

  test('a host port in use fails the forwarder; the container network is undone completely', async () => {
    const dir = await containerDir();
    const id = newId();
    const blocker = await createPortForwarder({ targetHost: '127.0.0.1', targetPort: 9 });
    cleanups.push(() => blocker.close());
    const setup = await manager.setupContainer(request(dir, id, true));
    const error = await createPortForwarder({
      targetHost: setup.ipAddress!,
      targetPort: 80,
      hostPort: blocker.hostPort,
    }).catch((e: unknown) => e);
    await manager.teardownContainer(setup.state);
    expect(isCspecError(error, 'CSPEC_INVALID_SPEC')).toBe(true);
    expect((error as Error).message).toContain(`127.0.0.1:${blocker.hostPort} is already in use`);
    expect(leftovers([id])).toEqual([]);
  });

  test("a failing ip command reports the command and ip's error", async () => {
    const error = await runIp(['link', 'show', 'dev', 'cs-no-such-link']).catch((e: unknown) => e);
    expect(isCspecError(error, 'CSPEC_NETWORK_FAILED')).toBe(true);
    expect((error as Error).message).toContain('ip link show dev cs-no-such-link');
    expect((error as Error).message).toMatch(/does not exist|Cannot find device/);
  });

  test('sweep removes the namespace, veth and leases of a dead owner and spares live ones', async () => {
    const dir = await containerDir();
    const dead = newId();
    const alive = newId();
    await manager.setupContainer(request(dir, dead, true));
    const live = await manager.setupContainer(request(dir, alive, true));
    try {
      const report = await manager.sweep({ container: (id) => id !== dead, session: async () => true });
      expect(report.removed).toBeGreaterThanOrEqual(1);
      expect(leftovers([dead])).toEqual([]);
      expect(existsSync(live.netnsPath!)).toBe(true);
      expect(await connectOutcome(live.ipAddress!, 9)).toBe('ECONNREFUSED');
    } finally {
      await manager.teardownContainer(live.state);
    }
    expect(leftovers([dead, alive])).toEqual([]);
  });

  test('sweep removes the temp files of record writes that a killed process left, not those of live writers', async () => {
    const dir = await containerDir();
    // A record and a lease exist, so both directories do.
    const setup = await manager.setupContainer(request(dir, newId(), true));
    const { pid: dead } = spawnSync('true');
    const records = join(config.runDir, 'container-networks');
    const leases = join(config.runDir, 'ipam', 'p2p');
    const abandoned = [
      join(records, `${newId()}.json.${dead}.0123abcd.tmp`),
      join(leases, `10.88.255.252.${dead}.4567cdef.tmp`),
    ];
    const inProgress = join(records, `${newId()}.json.${process.pid}.89abcdef.tmp`);
    for (const f of [...abandoned, inProgress]) writeFileSync(f, '{"half":');
    try {
      await manager.sweep({ container: () => true, session: async () => true });
      expect(abandoned.filter((f) => existsSync(f))).toEqual([]);
      expect(existsSync(inProgress)).toBe(true);
      // The live container's own record and lease are untouched.
      expect(existsSync(join(records, `${setup.state.containerId}.json`))).toBe(true);
    } finally {
      rmSync(inProgress, { force: true });
      await manager.teardownContainer(setup.state);
    }
    expect(leftovers([setup.state.containerId])).toEqual([]);
  });

  test('namespaces made ahead live as long as their session, leases included, whatever their age', async () => {
    const dir = await containerDir();
    let alive = true;
    const pooling = createNetworkManager(config, { pool: { maxSize: 2, sessionId: () => 'sess-test' } });
    const ids = [newId(), newId()];
    const setups = [];
    for (const id of ids) setups.push(await pooling.setupContainer(request(dir, id, true)));
    // The second removal after two setups makes a replacement in the background.
    for (const s of setups) await pooling.teardownContainer(s.state);
    const recordsDir = join(config.runDir, 'container-networks');
    const pooled = () =>
      readdirSync(recordsDir)
        .filter((f) => f.endsWith('.json'))
        .map((f) => JSON.parse(readFileSync(join(recordsDir, f), 'utf8')))
        .filter((r) => r.pooledBy === 'sess-test');
    for (let i = 0; i < 500 && !(pooled().length > 0 && existsSync(`/run/netns/${pooled()[0].netns}`)); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const [entry] = pooled();
    expect(entry).toBeDefined();
    try {
      // Older than any setup in progress: only its record keeps a sweep from freeing the lease.
      const lease = join(config.runDir, 'ipam', 'p2p', entry.p2pBlock);
      utimesSync(lease, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
      await pooling.sweep({ container: () => false, session: async (sid) => sid === 'sess-test' && alive });
      expect(existsSync(`/run/netns/${entry.netns}`)).toBe(true);
      expect(readFileSync(lease, 'utf8').trim()).toBe(entry.containerId);
      alive = false;
      await pooling.sweep({ container: () => false, session: async (sid) => sid === 'sess-test' && alive });
      expect(leftovers([entry.containerId])).toEqual([]);
    } finally {
      await pooling.close();
    }
    expect(leftovers([...ids, entry.containerId])).toEqual([]);
  });
});

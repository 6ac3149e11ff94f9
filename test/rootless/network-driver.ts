/**
 * Runs as an unprivileged user (test/rootless/network.test.ts starts it with
 * runuser): drives the rootless network code directly, with stand-ins for
 * containers — namespaces made by the network manager, a TCP server started in
 * them through the user namespace. Prints one JSON line per step on stdout;
 * tears everything down on SIGTERM.
 *
 *   network-driver.ts publish   one namespace with two published ports; a taken host port fails
 *   network-driver.ts network   two namespaces on a user-defined network; b dials a by alias and name
 *   network-driver.ts pool      a namespace made ahead (netns-pool.ts) serves a published port
 *   network-driver.ts sweep     a sweep that takes every owner for dead
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveConfig } from '../../packages/runtime/src/config.js';
import { isCspecError } from '../../packages/runtime/src/errors.js';
import { isListeningInside } from '../../packages/runtime/src/network/container-port-probe.js';
import { runIp } from '../../packages/runtime/src/network/ip-command.js';
import { createNetworkManager } from '../../packages/runtime/src/network/network-manager.js';
import type { PortForwarder } from '../../packages/runtime/src/network/port-forwarder.js';
import { netnsDir } from '../../packages/runtime/src/network/rootless-net-host.js';
import { processUserNamespace } from '../../packages/runtime/src/rootless/process-namespace.js';

const scenario = process.argv[2];
const config = resolveConfig();
const manager = createNetworkManager(
  config,
  scenario === 'pool' ? { pool: { maxSize: 2, sessionId: () => 'rootless-test' } } : {},
);
const ns = await processUserNamespace();
const hostsDir = join(config.runDir, 'hosts');
await mkdir(hostsDir, { recursive: true });

const report = (step: string, data: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ step, ...data })}\n`);

const id = () => randomBytes(32).toString('hex');
const servers: ChildProcess[] = [];

/** A TCP server on 0.0.0.0:8080 in the namespace `netnsPath`, answering `hello from NAME`. */
async function serveIn(netnsPath: string, name: string): Promise<void> {
  const script = `require('net').createServer((s) => s.end('hello from ${name}\\n')).listen(8080, '0.0.0.0')`;
  const [file, ...args] = ns.enterArgs(['nsenter', `--net=${netnsPath}`, process.execPath, '-e', script]);
  const child = spawn(file, args, { stdio: 'ignore' });
  servers.push(child);
  // nsenter execs: the pid ends up the server's own.
  for (let i = 0; !(await isListeningInside(child.pid!, 8080)); i++) {
    if (child.exitCode !== null || i > 1000) throw new Error(`server in ${netnsPath} did not start`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Runs node in `netnsPath` with `hostsFile` over /etc/hosts, as a container sees them; its stdout. */
function runInView(netnsPath: string, hostsFile: string, script: string): Promise<string> {
  const [file, ...args] = ns.enterArgs([
    'unshare',
    '--mount',
    '--propagation',
    'private',
    'sh',
    '-c',
    'mount --bind "$1" /etc/hosts && exec nsenter --net="$2" "$3" -e "$4"',
    'sh',
    hostsFile,
    netnsPath,
    process.execPath,
    script,
  ]);
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${err}`))));
  });
}

/** This process's children running `pattern` (the port forwarder). */
function children(pattern: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const ppid = /^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1];
        return Number(ppid) === process.pid && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(pattern);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** The routes of the rootless network namespace. */
async function rlRoutes(): Promise<string> {
  const rl = readdirSync(netnsDir(config)).find((n) => n.startsWith(`rl-${ns.pid}-`) && !n.endsWith('.sys'))!;
  return runIp(['route'], { prefix: ns.enterArgs(['nsenter', `--net=${join(netnsDir(config), rl)}`, '--']) });
}

const dial = (host: string) =>
  `require('net').connect(8080, '${host}').setTimeout(5000, () => { console.error('timed out'); process.exit(1); }).on('data', (d) => { process.stdout.write(d); process.exit(0); }).on('error', (e) => { console.error(e.message); process.exit(1); })`;

/** Until the test sends SIGTERM: then the teardown below runs. */
const terminated = new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));

const setups: Awaited<ReturnType<typeof manager.setupContainer>>[] = [];
const forwards: PortForwarder[] = [];
const networks: string[] = [];
try {
  if (scenario === 'publish') {
    const t0 = performance.now();
    const setup = await manager.setupContainer({
      containerId: id(),
      name: 'c1',
      hostname: 'c1',
      hostsFile: join(hostsDir, 'c1'),
      publishesPorts: true,
      networks: [],
    });
    setups.push(setup);
    const t1 = performance.now();
    await serveIn(setup.netnsPath!, 'c1');
    const t2 = performance.now();
    const first = await manager.publishPort({ targetHost: setup.ipAddress!, targetPort: 8080 });
    forwards.push(first);
    const t3 = performance.now();
    const second = await manager.publishPort({ targetHost: setup.ipAddress!, targetPort: 8080 });
    forwards.push(second);
    const t4 = performance.now();
    const taken = await manager
      .publishPort({ targetHost: setup.ipAddress!, targetPort: 8080, hostPort: first.hostPort })
      .then(
        () => 'published',
        (error: unknown) => (isCspecError(error) ? error.code : String(error)),
      );
    report('published', {
      ports: [first.hostPort, second.hostPort],
      taken,
      netnsPath: setup.netnsPath,
      ipAddress: setup.ipAddress,
      holder: ns.pid,
      server: servers[0]!.pid,
      forwarder: children('rootless-port-forwarder-main'),
      routes: await rlRoutes(),
      ms: { setup: t1 - t0, server: t2 - t1, firstPort: t3 - t2, secondPort: t4 - t3 },
    });
  } else if (scenario === 'network') {
    const name = `rlnet-${randomBytes(3).toString('hex')}`;
    await manager.createNetwork(name);
    networks.push(name);
    const t0 = performance.now();
    for (const [member, aliases] of [
      ['a', ['db']],
      ['b', []],
    ] as const) {
      setups.push(
        await manager.setupContainer({
          containerId: id(),
          name: member,
          hostname: member,
          hostsFile: join(hostsDir, member),
          publishesPorts: false,
          networks: [{ network: name, aliases: [...aliases] }],
        }),
      );
    }
    const t1 = performance.now();
    await serveIn(setups[0]!.netnsPath!, 'a');
    const byAlias = await runInView(setups[1]!.netnsPath!, join(hostsDir, 'b'), dial('db'));
    const byName = await runInView(setups[1]!.netnsPath!, join(hostsDir, 'b'), dial('a'));
    report('reached', {
      network: name,
      byAlias,
      byName,
      addresses: setups.map((s) => s.ipAddress),
      listed: (await manager.listNetworks()).map((n) => n.name),
      routes: await rlRoutes(),
      ms: { twoSetups: t1 - t0 },
    });
  } else if (scenario === 'pool') {
    const setup = () =>
      manager.setupContainer({
        containerId: id(),
        name: 'c1',
        hostname: 'c1',
        hostsFile: join(hostsDir, 'c1'),
        publishesPorts: true,
        networks: [],
      });
    // Two in use, then removed: the pool makes replacements in the background.
    const [a, b] = [await setup(), await setup()];
    await manager.teardownContainer(a.state);
    await manager.teardownContainer(b.state);
    let ready: string[] = [];
    for (let i = 0; i < 500 && ready.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 10));
      ready = readdirSync(netnsDir(config)).filter((n) => /^cs[0-9a-f]{12}$/.test(n));
    }
    const t0 = performance.now();
    const taken = await setup();
    const takeMs = performance.now() - t0;
    setups.push(taken);
    await serveIn(taken.netnsPath!, 'c1');
    const forward = await manager.publishPort({ targetHost: taken.ipAddress!, targetPort: 8080 });
    forwards.push(forward);
    report('published', {
      ports: [forward.hostPort],
      ready,
      netnsPath: taken.netnsPath,
      ms: { take: takeMs },
    });
  } else if (scenario === 'sweep') {
    const { removed } = await manager.sweep({ container: () => false, session: async () => false });
    report('swept', { removed });
  } else {
    throw new Error(`unknown scenario ${scenario}`);
  }
  if (scenario !== 'sweep') await terminated;
} catch (error) {
  report('failed', { message: (error as Error).stack ?? String(error) });
} finally {
  for (const s of servers) s.kill('SIGKILL');
  await Promise.all(forwards.map((f) => f.close()));
  for (const s of setups) await manager.teardownContainer(s.state);
  for (const n of networks) await manager.removeNetwork(n);
  await manager.close();
  const netns = existsSync(netnsDir(config)) ? readdirSync(netnsDir(config)) : [];
  report('closed', { netns });
}

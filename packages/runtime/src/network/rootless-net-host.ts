/**
 * Networking of a rootless engine (podman's rootless network namespace is the
 * model). An unprivileged user cannot add links or namespaces on the host, but
 * is root in the engine's user namespace (rootless/user-namespace.ts), and so
 * in the network namespaces that namespace owns:
 * - one "rootless network namespace" per holder and run directory, made on
 *   first use: `unshare --net=<runDir>/netns/rl-<holder>` inside the holder's
 *   user and mount namespaces, loopback up, with a sysfs of its own mounted
 *   beside it (`rl-<holder>.sys`) so that links are looked up without a process;
 * - bridges of user-defined networks and the host ends of containers' veths
 *   live in it, made by the same `ip` commands as on the host; containers'
 *   namespaces are files beside it, bind mounts that exist only in the
 *   holder's mount namespace (where the OCI runtime runs) and vanish with it;
 * - published ports: this process listens on 127.0.0.1 of the host and hands
 *   the listening socket to one forwarder process running in the rootless
 *   namespace, which dials the container's address (rootless-port-forwarder.ts).
 * Nothing of it is visible on the host, and no traffic leaves the machine.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RuntimeConfig } from '../config.js';
import { createDebug } from '../debug.js';
import { CspecError, isCspecError } from '../errors.js';
import { processUserNamespace } from '../rootless/process-namespace.js';
import type { UserNamespace } from '../rootless/user-namespace.js';
import { readStartTime } from '../util/process-identity.js';
import { failure, runCommandRaw, runIpBatch } from './ip-command.js';
import { bridgeCommands, type NetHost, randomMac } from './net-host.js';
import { listenOnLoopback } from './port-forwarder.js';
import { type LoopbackForwarder, startLoopbackForwarder } from './rootless-port-forwarder.js';

const debug = createDebug('cspec:network');

/** The rootless network namespace of one holder and run directory. */
interface RootlessNetwork {
  readonly ns: UserNamespace;
  /** Its namespace file. */
  readonly path: string;
  /** Its sysfs, mounted in the holder's mount namespace. */
  readonly sys: string;
  /** Bridges made in it (or being made), by name. */
  readonly bridges: Map<string, Promise<void>>;
  forwarder: Promise<LoopbackForwarder> | undefined;
}

/** Per run directory: the holder is this process's, so is everything made in it. */
const opening = new Map<string, Promise<RootlessNetwork>>();
const opened = new Map<string, RootlessNetwork>();

const RL_FILE = /^rl-(\d+)-(\d+)(\.sys)?$/;

/**
 * `sh -c` script, arguments: the rootless namespace, its commands, then pairs of
 * a namespace file and its commands. Makes each namespace, then runs the
 * commands where they belong; stops at the first failure.
 */
const MAKE_NAMESPACES = [
  'set -e',
  'rl=$1; commands=$2; shift 2',
  'odd=1; for a do if [ $odd = 1 ]; then unshare --net="$a" true; odd=0; else odd=1; fi; done',
  'printf "%s\\n" "$commands" | nsenter --net="$rl" ip -batch -',
  'while [ $# -gt 0 ]; do printf "%s\\n" "$2" | nsenter --net="$1" ip -batch -; shift 2; done',
].join('\n');

/** Whether the holder `pid` that started at `startTime` still runs (an exited one waiting to be reaped does not). */
function holderRuns(pid: number, startTime: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] !== 'Z' && fields[19] === startTime;
  } catch {
    return false;
  }
}

/** Removes the namespace files of holders that ended (empty files and dirs: their mounts went with them). */
async function removeDeadHolderFiles(dir: string): Promise<number> {
  let removed = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const m = RL_FILE.exec(name);
    if (!m || holderRuns(Number(m[1]), m[2]!)) continue;
    await rm(join(dir, name), { recursive: true, force: true }).then(
      () => removed++,
      (error: unknown) => debug('sweep: %s: %O', name, error),
    );
  }
  return removed;
}

export function netnsDir(config: Pick<RuntimeConfig, 'runDir'>): string {
  return join(config.runDir, 'netns');
}

function failed(what: string, error: unknown): CspecError {
  return new CspecError('CSPEC_NETWORK_FAILED', `${what}: ${(error as Error).message}`, {
    cause: error,
    hint: 'run with DEBUG=cspec:network to see every command; `cspec doctor` checks user namespaces',
  });
}

async function openRootlessNetwork(
  config: RuntimeConfig,
  openNamespace: () => Promise<UserNamespace>,
): Promise<RootlessNetwork> {
  const ns = await openNamespace();
  const startTime = readStartTime(ns.pid);
  const dir = netnsDir(config);
  const path = join(dir, `rl-${ns.pid}-${startTime}`);
  const sys = `${path}.sys`;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(path, '');
  await mkdir(sys, { recursive: true });
  try {
    // unshare binds the new namespace to `path` in the holder's mount namespace; the sysfs mounted
    // from inside it shows its links (/sys/class/net), read from here through /proc/<holder>/root.
    await ns.run([
      'unshare',
      `--net=${path}`,
      'sh',
      '-c',
      'ip link set lo up && mount -t sysfs -o ro sysfs "$0"',
      sys,
    ]);
  } catch (error) {
    await rm(path, { force: true });
    await rm(sys, { recursive: true, force: true });
    throw failed('cannot create the rootless network namespace', error);
  }
  debug('rootless network namespace %s (holder %d)', path, ns.pid);
  // What earlier processes' holders left: nothing else removes it short of a prune.
  await removeDeadHolderFiles(dir);
  return { ns, path, sys, bridges: new Map(), forwarder: undefined };
}

export interface RootlessNetHostOptions {
  /** @default processUserNamespace */
  readonly userNamespace?: () => Promise<UserNamespace>;
}

export function createRootlessNetHost(config: RuntimeConfig, options: RootlessNetHostOptions = {}): NetHost {
  const openNamespace = options.userNamespace ?? processUserNamespace;
  const dir = netnsDir(config);
  const pathOf = (name: string) => join(dir, name);

  const rl = (): Promise<RootlessNetwork> => {
    let p = opening.get(config.runDir);
    if (!p) {
      p = openRootlessNetwork(config, openNamespace).then(
        (made) => {
          opened.set(config.runDir, made);
          return made;
        },
        (error: unknown) => {
          opening.delete(config.runDir);
          throw error;
        },
      );
      opening.set(config.runDir, p);
    }
    return p;
  };
  /** `nsenter` into the holder's namespaces and the network namespace `file`, then the arguments. */
  const enter = (net: RootlessNetwork, file: string) => net.ns.enterArgs(['nsenter', `--net=${file}`, '--']);
  const linkIn = (net: RootlessNetwork | undefined, name: string) =>
    net !== undefined && existsSync(`/proc/${net.ns.pid}/root${net.sys}/class/net/${name}`);

  const host: NetHost = {
    mode: 'rootless',
    netnsPath: pathOf,
    netnsRef: pathOf,
    netnsExists: (name) => existsSync(pathOf(name)),
    // Not made in this process: its links, if any, are in another (or a dead) holder's namespace.
    linkExists: (name) => linkIn(opened.get(config.runDir), name),

    async makeNamespaces(plan, signal) {
      const net = await rl();
      const paths = plan.namespaces.map((n) => pathOf(n.name));
      await Promise.all(paths.map((p) => writeFile(p, '')));
      // One process for all of it (each nsenter into the user namespace costs a few ms).
      const argv = net.ns.enterArgs([
        'sh',
        '-c',
        MAKE_NAMESPACES,
        'sh',
        net.path,
        plan.host.join('\n'),
        ...plan.namespaces.flatMap((n, i) => [paths[i]!, n.inside.join('\n')]),
      ]);
      debug('in %s: %s', net.path, JSON.stringify(plan));
      const result = await runCommandRaw(argv, undefined, signal);
      if (result.exitCode !== 0) throw failure(`making network namespaces ${paths.join(', ')}`, result);
    },

    async remove(links, namespaces) {
      const net = opened.get(config.runDir);
      const present = links.filter((l) => linkIn(net, l));
      if (net && present.length > 0) {
        try {
          await runIpBatch(
            present.map((l) => `link del ${l}`),
            { prefix: enter(net, net.path), force: true },
          );
        } catch (error) {
          if (links.some((l) => linkIn(net, l))) throw error;
        }
      }
      // A namespace file is a mount point only in the holder's mount namespace: unlinking it
      // here detaches that mount, and the namespace ends with the last process in it.
      await Promise.all(namespaces.map((n) => rm(pathOf(n), { force: true })));
      // A session's sweep removes its containers' namespaces after its process died: that
      // process's rootless namespace files go with them (a readdir; nothing else sweeps them).
      if (namespaces.length > 0) await removeDeadHolderFiles(dir);
    },

    routedSubnets: async () => [],

    // Bridges are made in the rootless namespace of each process that uses the network (ensureBridge).
    createBridge: async () => {},

    async ensureBridge(record, signal) {
      const net = await rl();
      let made = net.bridges.get(record.bridge);
      if (!made) {
        made = linkIn(net, record.bridge)
          ? Promise.resolve()
          : runIpBatch(bridgeCommands(record, randomMac()), {
              prefix: enter(net, net.path),
              ...(signal ? { signal } : {}),
            }).then(() =>
              debug('network %s: bridge %s in the rootless namespace', record.name, record.bridge),
            );
        net.bridges.set(record.bridge, made);
        made.catch(() => net.bridges.delete(record.bridge));
      }
      await made;
    },

    async destroyBridge(bridge) {
      const net = opened.get(config.runDir);
      if (!net) return;
      net.bridges.delete(bridge);
      if (!linkIn(net, bridge)) return;
      await runIpBatch([`link del ${bridge}`], { prefix: enter(net, net.path) }).catch((error: unknown) => {
        if (linkIn(net, bridge)) throw error;
      });
    },

    bridgesWithForwardRules: async () => [],

    async publishPort(forward) {
      const net = await rl();
      if (!net.forwarder) {
        // Entering a mount namespace moves to its root: --wd keeps this directory (tsx resolves from it in tests).
        const starting = startLoopbackForwarder(config, (argv) =>
          net.ns.enterArgs(['nsenter', `--net=${net.path}`, `--wd=${process.cwd()}`, '--', ...argv]),
        );
        net.forwarder = starting;
        starting.then(
          (f) =>
            f.exited.then(() => {
              if (net.forwarder === starting) net.forwarder = undefined;
            }),
          () => {
            if (net.forwarder === starting) net.forwarder = undefined;
          },
        );
      }
      const forwarder = await net.forwarder;
      const { server, port } = await listenOnLoopback(forward.hostPort);
      try {
        const handed = await forwarder.hand(server, { host: forward.targetHost, port: forward.targetPort });
        debug('127.0.0.1:%d -> %s:%d (rootless)', port, forward.targetHost, forward.targetPort);
        return { hostPort: port, close: handed.close };
      } catch (error) {
        server.close();
        throw isCspecError(error) ? error : failed(`cannot publish port ${forward.targetPort}`, error);
      }
    },

    sweep: () => removeDeadHolderFiles(dir),
  };
  return host;
}

/** Whether `path` is a mount point in the holder's mount namespace (tests and diagnostics). */
export function mountedInHolder(holder: number, path: string): boolean {
  try {
    return statSync(`/proc/${holder}/root${path}`).dev !== statSync(path).dev;
  } catch {
    return false;
  }
}

/**
 * Per-container networking. A container that publishes ports or joins
 * networks gets a network namespace `cs<12 hex>` created here, with:
 * - on no network: one point-to-point veth (host end `cs<10 hex>` with .1 of a
 *   /30 from 10.88.0.0/16, container end `eth0` with .2 and the default route);
 * - per network i: a veth whose host end `cs<10 hex>n<i>` is a port of the
 *   network's bridge, container end `eth<i>` with an address of its subnet (the
 *   first network carries the default route).
 * Setup costs two `ip -batch` processes. Everything created is described by a
 * serializable state, also written to `<runDir>/container-networks/<id>.json`
 * before anything is created, so a sweep can undo what a crash left.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { RuntimeConfig } from '../config.js';
import type { NetworkAttachment } from '../container/spec.js';
import { createDebug } from '../debug.js';
import { abortError, CspecError } from '../errors.js';
import { readJsonIfExists, writeJsonAtomic } from '../util/atomic-file.js';
import { withFileLock } from '../util/file-lock.js';
import { type HostsEntry, renderHostsFile, writeInPlace } from './hosts-file.js';
import { addressAt, formatIpv4, parseSubnet } from './ipv4.js';
import type { NetHost } from './net-host.js';
import type { NetnsPool } from './netns-pool.js';
import type { MemberRecord, NetworkRecord, NetworkStore } from './network-store.js';
import { memberPool, p2pPool } from './pools.js';

const debug = createDebug('cspec:network');

export interface ContainerNetworkRequest {
  /** 64 hex characters; its prefix names the namespace and the veths. */
  readonly containerId: string;
  /** Container name, resolvable by the other members of its networks. */
  readonly name: string;
  readonly hostname: string;
  /** Where this container's /etc/hosts is written. */
  readonly hostsFile: string;
  /** The host must reach the container (published ports). */
  readonly publishesPorts: boolean;
  readonly networks: readonly NetworkAttachment[];
}

export interface JoinedNetworkState {
  readonly network: string;
  readonly bridge: string;
  /** CIDR of the network. */
  readonly subnet: string;
  readonly ipAddress: string;
  readonly hostLink: string;
  readonly device: string;
  readonly aliases: readonly string[];
}

/** Serializable description of everything a container's networking created. */
export interface ContainerNetworkState {
  readonly version: 1;
  readonly containerId: string;
  readonly hostsFile: string;
  /** Name of the namespace (under /run/netns as root; NetHost.netnsPath), or undefined for a runc-created loopback-only one. */
  readonly netns: string | undefined;
  /** Host ends of the container's veths. */
  readonly hostLinks: readonly string[];
  /** The /30 lease of the point-to-point link (its network address), if any. */
  readonly p2pBlock: string | undefined;
  readonly networks: readonly JoinedNetworkState[];
  /**
   * Set while the namespace waits in an engine's pool (netns-pool.ts): the
   * session it belongs to. Such a record lives as long as that session, not
   * as long as a container.
   */
  readonly pooledBy?: string;
}

export interface ContainerNetworkSetup {
  /** The namespace's file (`/run/netns/NAME` as root), or undefined: the OCI runtime creates a private loopback-only namespace. */
  readonly netnsPath: string | undefined;
  /** Address the host uses to reach the container. */
  readonly ipAddress: string | undefined;
  readonly state: ContainerNetworkState;
}

const MAX_NETWORKS = 99;

export function netnsName(containerId: string): string {
  return `cs${containerId.slice(0, 12)}`;
}

export function ownersDir(config: RuntimeConfig): string {
  return join(config.runDir, 'container-networks');
}

export function ownerRecordPath(config: RuntimeConfig, containerId: string): string {
  return join(ownersDir(config), `${containerId}.json`);
}

export function listOwnerRecords(config: RuntimeConfig): Promise<string[]> {
  return readdir(ownersDir(config)).then(
    (files) => files.filter((f) => /^[0-9a-f]+\.json$/.test(f)).map((f) => f.slice(0, -'.json'.length)),
    () => [],
  );
}

export function readOwnerRecord(config: RuntimeConfig, containerId: string) {
  return readJsonIfExists<ContainerNetworkState>(ownerRecordPath(config, containerId));
}

function checkRequest(req: ContainerNetworkRequest): void {
  if (!/^[0-9a-f]{12,}$/.test(req.containerId)) {
    throw new CspecError('CSPEC_INTERNAL', `container id "${req.containerId}" is not hexadecimal`);
  }
  if (req.networks.length > MAX_NETWORKS) {
    throw new CspecError('CSPEC_INVALID_SPEC', `a container can join at most ${MAX_NETWORKS} networks`);
  }
  const seen = new Set<string>();
  for (const n of req.networks) {
    if (seen.has(n.network)) {
      throw new CspecError(
        'CSPEC_INVALID_SPEC',
        `network "${n.network}" is listed twice — join each network once`,
      );
    }
    seen.add(n.network);
  }
}

function notFound(name: string): CspecError {
  return new CspecError('CSPEC_NETWORK_NOT_FOUND', `network "${name}" does not exist`, {
    hint: `create it first: new Network().start() or cspec network create ${name}`,
  });
}

export async function setupContainerNetwork(
  config: RuntimeConfig,
  store: NetworkStore,
  host: NetHost,
  req: ContainerNetworkRequest,
  signal?: AbortSignal,
  pool?: NetnsPool,
): Promise<ContainerNetworkSetup> {
  checkRequest(req);
  const bare: ContainerNetworkState = {
    version: 1,
    containerId: req.containerId,
    hostsFile: req.hostsFile,
    netns: undefined,
    hostLinks: [],
    p2pBlock: undefined,
    networks: [],
  };
  if (!req.publishesPorts && req.networks.length === 0) {
    // The hot path: no process, no lease, just the hosts file.
    await writeInPlace(
      req.hostsFile,
      renderHostsFile({ hostname: req.hostname, ipAddress: undefined, peers: [] }),
      {
        create: true,
      },
    );
    return { netnsPath: undefined, ipAddress: undefined, state: bare };
  }

  const check = () => {
    if (signal?.aborted) throw abortError(signal, 'network setup');
  };
  const records = await Promise.all(req.networks.map((n) => store.read(n.network)));
  records.forEach((r, i) => {
    if (!r) throw notFound(req.networks[i]!.network);
  });
  check();

  const pooled = req.networks.length === 0 ? await pool?.take(req.containerId, req.hostsFile) : undefined;
  if (pooled) {
    const ipAddress = p2pAddresses(pooled.p2pBlock!).container;
    try {
      await writeInPlace(req.hostsFile, renderHostsFile({ hostname: req.hostname, ipAddress, peers: [] }), {
        create: true,
      });
    } catch (error) {
      await teardownContainerNetwork(config, store, host, pooled).catch(() => {});
      throw error;
    }
    debug('container %s: netns %s (made ahead), %s', req.containerId.slice(0, 12), pooled.netns, ipAddress);
    return { netnsPath: host.netnsPath(pooled.netns!), ipAddress, state: pooled };
  }

  const netns = netnsName(req.containerId);
  const linkBase = `cs${req.containerId.slice(0, 10)}`;
  let state: ContainerNetworkState = { ...bare, netns };
  try {
    // 1. Leases (lock-free), then the owner record, then the kernel objects.
    if (req.networks.length === 0) {
      const block = await p2pPool(config, host.routedSubnets).allocate(req.containerId);
      state = { ...state, p2pBlock: block, hostLinks: [linkBase] };
    } else {
      const joined: JoinedNetworkState[] = [];
      for (const [i, attachment] of req.networks.entries()) {
        const record = records[i]!;
        const ipAddress = await memberPool(config, parseSubnet(record.subnet)).allocate(req.containerId);
        joined.push({
          network: record.name,
          bridge: record.bridge,
          subnet: record.subnet,
          ipAddress,
          hostLink: `${linkBase}n${i}`,
          device: `eth${i}`,
          aliases: [...(attachment.aliases ?? [])],
        });
        state = { ...state, networks: [...joined], hostLinks: joined.map((j) => j.hostLink) };
      }
    }
    await mkdir(ownersDir(config), { recursive: true });
    await writeJsonAtomic(ownerRecordPath(config, req.containerId), state);
    check();

    for (const record of records as NetworkRecord[]) await host.ensureBridge(record, signal);
    const plan = ipPlan(state, records as NetworkRecord[], host.netnsRef);
    const { ipAddress } = plan;
    await host.makeNamespaces(
      { host: plan.host, namespaces: [{ name: netns, inside: plan.inside }] },
      signal,
    );
    check();

    // 2. Membership (short per-network lock), then hosts files.
    const member = (j: JoinedNetworkState): MemberRecord => ({
      containerId: req.containerId,
      name: req.name,
      hostname: req.hostname,
      aliases: j.aliases,
      ipAddress: j.ipAddress,
      primaryIp: ipAddress,
      hostsFile: req.hostsFile,
      networks: state.networks.map((n) => n.network),
    });
    for (const j of state.networks) {
      await store.locked(j.network, async () => {
        if (!(await store.read(j.network))) throw notFound(j.network);
        await store.addMember(j.network, member(j));
      });
    }
    const self = state.networks[0] ? member(state.networks[0]) : undefined;
    if (self) {
      await refreshHostsFile(store, self, true);
      await refreshPeers(store, state.networks, req.containerId);
    } else {
      await writeInPlace(req.hostsFile, renderHostsFile({ hostname: req.hostname, ipAddress, peers: [] }), {
        create: true,
      });
    }
    debug('container %s: netns %s, %s', req.containerId.slice(0, 12), netns, ipAddress);
    return { netnsPath: host.netnsPath(netns), ipAddress, state };
  } catch (error) {
    await teardownContainerNetwork(config, store, host, state).catch((e) =>
      debug('undo after failed setup of %s: %O', req.containerId.slice(0, 12), e),
    );
    throw error;
  }
}

/** Host (.1) and container (.2) address of a point-to-point /30 block. */
function p2pAddresses(block: string): { host: string; container: string } {
  const subnet = parseSubnet(`${block}/30`);
  return { host: formatIpv4(addressAt(subnet, 1)), container: formatIpv4(addressAt(subnet, 2)) };
}

/**
 * The `ip` commands for the host side (run once the namespace exists) and for
 * inside the namespace; `ref` names the namespace in host-side commands.
 */
export function ipPlan(
  state: ContainerNetworkState,
  records: readonly NetworkRecord[],
  ref: (netns: string) => string = (n) => n,
): { host: string[]; inside: string[]; ipAddress: string } {
  const netns = ref(state.netns!);
  const host: string[] = [];
  const inside = ['link set lo up'];
  if (state.p2pBlock !== undefined) {
    const { host: hostIp, container: containerIp } = p2pAddresses(state.p2pBlock);
    const link = state.hostLinks[0]!;
    host.push(
      `link add ${link} type veth peer name eth0 netns ${netns}`,
      `addr add ${hostIp}/30 dev ${link}`,
      `link set ${link} up`,
    );
    inside.push(`addr add ${containerIp}/30 dev eth0`, 'link set eth0 up', `route add default via ${hostIp}`);
    return { host, inside, ipAddress: containerIp };
  }
  for (const [i, j] of state.networks.entries()) {
    const prefix = parseSubnet(j.subnet).prefixLength;
    host.push(
      `link add ${j.hostLink} type veth peer name ${j.device} netns ${netns}`,
      `link set ${j.hostLink} master ${j.bridge} up`,
    );
    inside.push(`addr add ${j.ipAddress}/${prefix} dev ${j.device}`, `link set ${j.device} up`);
    if (i === 0) inside.push(`route add default via ${records[i]!.gateway}`);
  }
  return { host, inside, ipAddress: state.networks[0]!.ipAddress };
}

/** Locks around a few file operations: a holder older than this is considered stuck. */
const SHORT_LOCK = { timeoutMs: 10_000, staleMs: 30_000 } as const;

/** Rewrites a member's hosts file from the current members of all its networks. */
async function refreshHostsFile(store: NetworkStore, member: MemberRecord, create: boolean): Promise<void> {
  const lock = `${member.hostsFile}.lock`;
  try {
    await withFileLock(
      lock,
      async () => {
        // Read inside the lock: whoever changes membership rewrites afterwards, so the last write is current.
        const lists = await Promise.all(member.networks.map((n) => store.members(n)));
        const peers: HostsEntry[] = lists.flat().map((m) => ({
          ipAddress: m.ipAddress,
          names: [m.name, m.hostname, ...m.aliases],
        }));
        const text = renderHostsFile({ hostname: member.hostname, ipAddress: member.primaryIp, peers });
        await writeInPlace(member.hostsFile, text, { create });
      },
      SHORT_LOCK,
    );
  } catch (error) {
    // A peer whose directory is already gone is being removed: nothing to update.
    if (!create && (error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
}

/** Rewrites the hosts file of every member of a network. */
export async function refreshNetworkMembers(store: NetworkStore, network: string): Promise<void> {
  await Promise.all((await store.members(network)).map((m) => refreshHostsFile(store, m, false)));
}

async function refreshPeers(store: NetworkStore, joined: readonly JoinedNetworkState[], self: string) {
  const peers = new Map<string, MemberRecord>();
  for (const j of joined) {
    for (const m of await store.members(j.network)) if (m.containerId !== self) peers.set(m.containerId, m);
  }
  await Promise.all([...peers.values()].map((m) => refreshHostsFile(store, m, false)));
}

/**
 * Undoes `setupContainerNetwork`: leaves the networks (updating the members'
 * hosts files), deletes veths and the namespace, frees the leases. Idempotent,
 * safe after a partial setup and from any process.
 */
export async function teardownContainerNetwork(
  config: RuntimeConfig,
  store: NetworkStore,
  host: NetHost,
  state: ContainerNetworkState,
): Promise<void> {
  const id = state.containerId;
  for (const j of state.networks) {
    await store.locked(j.network, () => store.removeMember(j.network, id));
  }
  if (state.networks.length > 0) await refreshPeers(store, state.networks, id);

  await host.remove(state.hostLinks, state.netns !== undefined ? [state.netns] : []);

  if (state.p2pBlock !== undefined) await p2pPool(config).release(state.p2pBlock, id);
  for (const j of state.networks) {
    await memberPool(config, parseSubnet(j.subnet)).release(j.ipAddress, id);
  }
  await rm(ownerRecordPath(config, id), { force: true });
  debug('container %s: network removed', id.slice(0, 12));
}

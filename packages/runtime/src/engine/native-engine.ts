import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { detectCgroupDriver } from '../cgroup/detect.js';
import type { CgroupMode } from '../cgroup/driver.js';
import { type ConfigOverrides, resolveConfig } from '../config.js';
import { finishedAt, NativeContainer, readExitStatus } from '../container/native-container.js';
import { containerPaths, namesDir } from '../container/paths.js';
import type { ContainerSpec } from '../container/spec.js';
import { startContainer } from '../container/start-container.js';
import { type ContainerState, listContainerStates } from '../container/state.js';
import { createDebug } from '../debug.js';
import { CspecError } from '../errors.js';
import { createImageStore } from '../image/image-store.js';
import { createNetworkManager } from '../network/network-manager.js';
import { chooseOciRuntime } from '../sandbox/detect-runtime.js';
import { createOciRuntime } from '../sandbox/oci-runtime.js';
import { createSession, type Session } from '../session/session.js';
import { sweepSessions } from '../session/sweep.js';
import type { ContainerInfo, Engine, NetworkInfo, PruneReport, RunOptions } from './engine.js';
import type { EngineContext } from './engine-context.js';

const debug = createDebug('cspec:engine');

function swapLimitSupported(mode: CgroupMode): boolean {
  if (mode !== 'v2') return existsSync('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes');
  return ['init.scope', 'system.slice', 'user.slice'].some((d) =>
    existsSync(`/sys/fs/cgroup/${d}/memory.swap.max`),
  );
}

export interface EngineOptions extends ConfigOverrides {}

/**
 * The native engine: containers run by runc/crun on this host, no daemon.
 * Containers started through an engine belong to its session and are removed
 * by `close()` — or by the session watcher if this process dies first.
 */
export async function createEngine(options: EngineOptions = {}): Promise<Engine> {
  if (process.getuid?.() !== 0) {
    throw new CspecError(
      'CSPEC_HOST_UNSUPPORTED',
      'the native engine needs root for now (rootless containers are not supported yet)',
      { hint: 'run the command with sudo, or as root in CI' },
    );
  }
  const config = resolveConfig(options);
  const cgroups = detectCgroupDriver();
  const ctx: EngineContext = {
    config,
    cgroups,
    runtime: createOciRuntime(chooseOciRuntime(config.ociRuntime, cgroups.mode)),
    network: createNetworkManager(config),
    images: createImageStore(config),
    swapLimitSupported: swapLimitSupported(cgroups.mode),
  };
  const owned = new Map<string, NativeContainer>();
  let session: Promise<Session> | undefined;
  let sweep: Promise<unknown> | undefined;
  let closed = false;

  const getSession = () => {
    if (!session) {
      session = createSession(config);
      // Every new session also cleans up after owners that died.
      sweep = sweepSessions(ctx).catch((error) => debug('sweep failed: %O', error));
    }
    return session;
  };

  const handleFor = async (state: ContainerState): Promise<NativeContainer> => {
    const live = owned.get(state.id);
    if (live) return live;
    const image = await ctx.images.resolve(state.image).catch(() => undefined);
    const paths = containerPaths(config, state.id, state.writable);
    const handle = new NativeContainer({
      ctx,
      state,
      paths,
      layerDirs: image?.layerDirs ?? [],
      forwards: [],
      spawnMonitor: () => {
        throw new CspecError(
          'CSPEC_INTERNAL',
          'restart is only possible from the process that started the container',
        );
      },
      onRemoved: () => {},
    });
    const pid = Number((await readFile(join(paths.dir, 'pid'), 'utf8').catch(() => '')).trim());
    if (pid) await handle.waitStarted(AbortSignal.timeout(1000)).catch(() => undefined);
    return handle;
  };

  const find = async (idOrName: string): Promise<ContainerState> => {
    const byName = await readFile(join(namesDir(config), idOrName), 'utf8').catch(() => undefined);
    const states = await listContainerStates(config);
    const matches = byName
      ? states.filter((s) => s.id === byName.trim())
      : states.filter((s) => s.id.startsWith(idOrName) && idOrName.length >= 3);
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) {
      throw new CspecError(
        'CSPEC_CONTAINER_NOT_FOUND',
        `"${idOrName}" matches ${matches.length} containers — give more of the id`,
      );
    }
    throw new CspecError('CSPEC_CONTAINER_NOT_FOUND', `no such container: ${idOrName}`, {
      hint: 'list containers with: cspec ps -a',
    });
  };

  const info = async (state: ContainerState): Promise<ContainerInfo> => {
    const live = owned.get(state.id);
    if (live) return live.info();
    const paths = containerPaths(config, state.id, state.writable);
    const exit = await readExitStatus(ctx, paths, state.id).catch(() => undefined);
    const pid = Number((await readFile(join(paths.dir, 'pid'), 'utf8').catch(() => '')).trim()) || undefined;
    const running = !exit && pid !== undefined && existsSync(`/proc/${pid}`);
    return {
      id: state.id,
      name: state.name,
      image: state.image,
      status: exit ? 'exited' : running ? 'running' : 'created',
      createdAt: state.createdAt,
      finishedAt: exit ? await finishedAt(paths) : undefined,
      command: state.command,
      ports: Object.fromEntries(Object.entries(state.ports).map(([k, v]) => [Number(k), v])),
      exit,
      pid: running ? pid : undefined,
      labels: state.labels,
      ipAddress: state.ipAddress,
      detached: state.sessionId === null,
    };
  };

  const engine: Engine = {
    kind: 'native',
    images: ctx.images,
    async run(spec: ContainerSpec, runOptions: RunOptions = {}) {
      if (closed) throw new CspecError('CSPEC_INTERNAL', 'this engine was closed');
      const sessionId = runOptions.detached ? null : (await getSession()).id;
      const container = await startContainer(ctx, spec, {
        ...runOptions,
        sessionId,
        onRemoved: (id) => owned.delete(id),
      });
      if (!runOptions.detached) owned.set(container.id, container);
      return container;
    },
    async container(idOrName) {
      return handleFor(await find(idOrName));
    },
    async list(listOptions = {}) {
      const all = await Promise.all((await listContainerStates(config)).map(info));
      const shown = listOptions.all ? all : all.filter((c) => c.status === 'running');
      return shown.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    },
    createNetwork: (name, networkOptions) =>
      ctx.network.createNetwork(name ?? randomNetworkName(), networkOptions),
    removeNetwork: (name) => ctx.network.removeNetwork(name),
    listNetworks: (): Promise<NetworkInfo[]> => ctx.network.listNetworks(),
    async prune(pruneOptions = {}): Promise<PruneReport> {
      const report = await sweepSessions(ctx, { all: pruneOptions.all === true });
      let networksRemoved = 0;
      if (pruneOptions.all) {
        for (const n of await ctx.network.listNetworks()) {
          await ctx.network.removeNetwork(n.name);
          networksRemoved++;
        }
      }
      const swept = await ctx.network.sweep((id) => existsSync(containerPaths(config, id, '').dir));
      return {
        containersRemoved: report.containers,
        networksRemoved: networksRemoved + swept.removed,
        sessionsRemoved: report.sessions,
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      const results = await Promise.allSettled([...owned.values()].map((c) => c.remove()));
      await sweep;
      if (session) await (await session).close();
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed.length) {
        throw new AggregateError(
          failed.map((f) => f.reason),
          `${failed.length} container(s) could not be removed`,
        );
      }
    },
    async [Symbol.asyncDispose]() {
      await engine.close();
    },
  };
  return engine;
}

function randomNetworkName(): string {
  return `cspec-net-${Math.random().toString(16).slice(2, 10)}`;
}

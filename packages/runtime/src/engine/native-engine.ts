import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CgroupMode } from '../cgroup/driver.js';
import { type ConfigOverrides, resolveConfig } from '../config.js';
import { containerIdByName } from '../container/names.js';
import { NativeContainer } from '../container/native-container.js';
import { containerPaths } from '../container/paths.js';
import type { ContainerSpec } from '../container/spec.js';
import { startContainer } from '../container/start-container.js';
import { type ContainerState, listContainerStates } from '../container/state.js';
import { createDebug } from '../debug.js';
import { CspecError, isCspecError } from '../errors.js';
import { createImageStore } from '../image/image-store.js';
import { createNetworkManager } from '../network/network-manager.js';
import { createAccountFilesCache } from '../sandbox/image-accounts.js';
import { createSession, type Session } from '../session/session.js';
import { isSessionAlive, sweepSessions } from '../session/sweep.js';
import type { ProcessIdentity } from '../util/process-identity.js';
import { removeAbandonedTemps } from '../util/temp-path.js';
import type { ContainerInfo, Engine, NetworkInfo, PruneReport, RunOptions } from './engine.js';
import type { EngineContext } from './engine-context.js';
import { openHostDirs } from './host-dirs.js';
import { initCacheFor, pruneInitCache } from './init-cache.js';
import { type PrepareDeps, prepareImage } from './prepare-image.js';
import { createTeardownContext } from './teardown-context.js';

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
  const config = resolveConfig(options);
  // Before anything is written there: only this user may reach containers' and images' files.
  await openHostDirs(config);
  const teardown = await createTeardownContext(config);
  let sessionId: string | undefined;
  const ctx: EngineContext = {
    ...teardown,
    // Namespaces for containers with published ports are made ahead, for this session (netns-pool.ts).
    network: createNetworkManager(config, {
      pool: { maxSize: config.netnsPoolSize, sessionId: () => sessionId },
    }),
    // Service images are Dockerfile builds: the store runs them through this engine.
    images: createImageStore(config, { buildDockerfile: (o) => engine.build(o) }),
    accounts: createAccountFilesCache(),
    swapLimitSupported: swapLimitSupported(teardown.cgroups.mode),
  };
  const owned = new Map<string, NativeContainer>();
  const ownedNetworks = new Set<string>();
  let session: Promise<Session> | undefined;
  let sweep: Promise<unknown> | undefined;
  let closed = false;
  const closing = new AbortController();
  const starting = new Set<Promise<unknown>>();

  /** Set when this process's forking parent died and the session ended with it (forking-parent.ts). */
  let ended: CspecError | undefined;
  const closedError = () => ended ?? engineClosed();

  const orphaned = async (parent: ProcessIdentity) => {
    if (closed) return;
    closed = true;
    ended = new CspecError(
      'CSPEC_SESSION_ENDED',
      `this process's cspec session has ended: the process that started it (pid ${parent.pid}) exited, so the containers and networks this process owned were removed`,
      {
        hint: 'nothing more can run from this process; a test worker left behind by a killed Vitest run should exit — start the run again',
      },
    );
    // Starts in flight stop and clean up; what runs in this process for the session stops (port
    // forwarders, namespaces made ahead); then the watcher removes the rest, alone.
    closing.abort(ended);
    await Promise.allSettled([...starting]);
    await Promise.all([...owned.values()].map((c) => c.closeForwards()));
    await ctx.network.close().catch((error: unknown) => debug('orphaned: %O', error));
  };

  const getSession = () => {
    if (!session) {
      session = createSession(config, { onOrphaned: orphaned });
      session.then(
        (s) => {
          sessionId = s.id;
        },
        () => {},
      );
      // Every new session also cleans up after owners that died.
      sweep = sweepSessions(ctx).catch((error) => debug('sweep failed: %O', error));
    }
    return session;
  };

  const handleFor = async (state: ContainerState): Promise<NativeContainer> => {
    const live = owned.get(state.id);
    if (live) return live;
    const handle = new NativeContainer({
      ctx,
      state,
      paths: containerPaths(config, state.id, state.writable),
      layerDirs: state.layerDirs ?? [],
      forwards: [],
      spawnMonitor: undefined,
      onRemoved: () => {},
    });
    await handle.loadStarted();
    return handle;
  };

  const find = async (idOrName: string): Promise<ContainerState> => {
    const byName = await containerIdByName(config, idOrName).catch(() => undefined);
    const states = await listContainerStates(config);
    const matches = byName
      ? states.filter((s) => s.id === byName)
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

  const prepareDeps: PrepareDeps = {
    images: ctx.images,
    locksDir: join(config.dataDir, 'locks'),
    run: (spec, options) => engine.run(spec, options),
  };

  /** A detached container outlives this process: it cannot join a network that ends with a session. */
  const checkDetachedNetworks = async (spec: ContainerSpec) => {
    const wanted = new Set((spec.networks ?? []).map((n) => n.network));
    if (wanted.size === 0) return;
    const owned = (await ctx.network.ephemeralNetworks()).find((n) => wanted.has(n.name));
    if (!owned) return;
    throw new CspecError(
      'CSPEC_INVALID_SPEC',
      `networks: a detached container cannot join network "${owned.name}" — the network belongs to the session of the process that created it and is removed when that process ends`,
      { hint: 'create the network with createNetwork(name, { detached: true }) or `cspec network create`' },
    );
  };

  const info = async (state: ContainerState): Promise<ContainerInfo> => (await handleFor(state)).info();

  /** `engine.run`, and for build steps also with the host's network. */
  const runContainer = async (
    spec: ContainerSpec,
    runOptions: RunOptions,
    internal: { readonly hostNetwork?: boolean } = {},
  ): Promise<NativeContainer> => {
    if (closed) throw closedError();
    const signal = runOptions.signal ? AbortSignal.any([runOptions.signal, closing.signal]) : closing.signal;
    // Tracked until the container is owned or removed again: close() and orphaned() wait for it.
    const start = (async () => {
      if (runOptions.detached) await checkDetachedNetworks(spec);
      const sessionId = runOptions.detached ? null : (await getSession()).id;
      const container = await startContainer(ctx, spec, {
        ...runOptions,
        ...internal,
        initCache: (resolved, image, startSignal) =>
          initCacheFor(prepareDeps, resolved, image, { ...runOptions, signal: startSignal }),
        signal,
        sessionId,
        onRemoved: (id) => owned.delete(id),
      });
      if (closed && !runOptions.detached) {
        // close() ran (or the session ended) while this container was starting: it must not outlive the engine.
        await container.remove();
        throw closedError();
      }
      if (!runOptions.detached) owned.set(container.id, container);
      return container;
    })();
    starting.add(start);
    try {
      return await start;
    } finally {
      starting.delete(start);
    }
  };

  const engine: Engine = {
    kind: 'native',
    images: ctx.images,
    run: (spec: ContainerSpec, runOptions: RunOptions = {}) => runContainer(spec, runOptions),
    prepareImage(request) {
      if (closed) throw closedError();
      return prepareImage(prepareDeps, request);
    },
    async build(buildOptions) {
      if (closed) throw closedError();
      const tmpDir = join(config.dataDir, 'build-tmp');
      await removeAbandonedTemps(tmpDir);
      // Loaded on first use: most processes that make an engine never build (see image-store.ts).
      const [{ buildDockerfile }, { createBuildCache }] = await Promise.all([
        import('../image/build/builder.js'),
        import('../image/build/build-cache.js'),
      ]);
      return buildDockerfile(
        {
          images: ctx.images,
          cache: createBuildCache(join(config.dataDir, 'build-cache')),
          tmpDir,
          async runStep(step) {
            const container = await runContainer(
              {
                image: step.image,
                command: step.command,
                entrypoint: [],
                env: step.env,
                ...(step.workingDir ? { workingDir: step.workingDir } : {}),
                ...(step.user ? { user: step.user } : {}),
                writableLayer: 'disk',
                labels: { 'dev.cspec.build': 'step' },
              },
              step.signal ? { signal: step.signal } : {},
              { hostNetwork: step.network === 'host' },
            );
            const onAbort = () => void container.kill('SIGKILL').catch(() => {});
            step.signal?.addEventListener('abort', onAbort, { once: true });
            // The step's output as it comes, until the container exits.
            const streamed = (async () => {
              for await (const chunk of container.logs({ follow: true })) step.onOutput(chunk);
            })().catch(() => {});
            try {
              const exit = await container.wait();
              await streamed;
              if (step.signal?.aborted) throw new CspecError('CSPEC_ABORTED', 'the build was aborted');
              const output = await container.logText();
              return {
                exitCode: exit.exitCode ?? 128,
                output,
                commit: async (d) =>
                  (await ctx.images.derive({ parent: step.image, step: { ...d, upper: container.upperDir } }))
                    .manifestDigest,
                remove: () => container.remove(),
              };
            } catch (error) {
              await container.remove();
              throw error;
            } finally {
              step.signal?.removeEventListener('abort', onAbort);
            }
          },
        },
        buildOptions,
      );
    },
    async container(idOrName) {
      return handleFor(await find(idOrName));
    },
    async list(listOptions = {}) {
      const all = await Promise.all((await listContainerStates(config)).map(info));
      const shown = listOptions.all ? all : all.filter((c) => c.status === 'running');
      return shown.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    },
    async createNetwork(name, networkOptions = {}) {
      const { detached, ephemeral, ...rest } = networkOptions;
      if (detached ?? ephemeral === false)
        return ctx.network.createNetwork(name ?? randomNetworkName(), rest);
      if (closed) throw closedError();
      const sessionId = (await getSession()).id;
      const info = await ctx.network.createNetwork(name ?? randomNetworkName(), { ...rest, sessionId });
      ownedNetworks.add(info.name);
      return info;
    },
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
      const swept = await ctx.network.sweep({
        container: (id) => existsSync(containerPaths(config, id, '').dir),
        session: (sid) => isSessionAlive(config, sid),
      });
      return {
        containersRemoved: report.containers,
        networksRemoved: report.networks + networksRemoved + swept.removed,
        sessionsRemoved: report.sessions,
      };
    },
    async pruneImages(pruneOptions = {}) {
      const initCachesRemoved = await pruneInitCache(ctx.images);
      // Containers keep their image's layers; a state from before layers were recorded keeps them all.
      const states = await listContainerStates(config);
      if (states.some((st) => st.layerDirs === undefined)) {
        return { blobsRemoved: 0, layersRemoved: 0, bytesFreed: 0, initCachesRemoved };
      }
      const layerDirsInUse = new Set(states.flatMap((st) => st.layerDirs ?? []));
      return { ...(await ctx.images.prune({ layerDirsInUse, ...pruneOptions })), initCachesRemoved };
    },
    async close() {
      if (closed) return;
      closed = true;
      // Starts in flight stop at their next step and clean up after themselves.
      closing.abort(engineClosed());
      await Promise.allSettled([...starting]);
      const results = await Promise.allSettled([...owned.values()].map((c) => c.remove()));
      results.push(...(await Promise.allSettled([ctx.network.close()])));
      await sweep;
      for (const name of ownedNetworks) {
        await ctx.network.removeNetwork(name).catch((e: unknown) => {
          if (!isCspecError(e, 'CSPEC_NETWORK_NOT_FOUND')) results.push({ status: 'rejected', reason: e });
        });
      }
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

function engineClosed(): CspecError {
  return new CspecError('CSPEC_ABORTED', 'this engine was closed', {
    hint: 'create a new engine (createEngine()) to start more containers',
  });
}

function randomNetworkName(): string {
  return `cspec-net-${Math.random().toString(16).slice(2, 10)}`;
}

import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { release } from 'node:os';
import { dirname } from 'node:path';
import { createDebug } from '../debug.js';
import type { RunOptions } from '../engine/engine.js';
import type { EngineContext } from '../engine/engine-context.js';
import { PRIVATE_DIR_MODE } from '../engine/host-dirs.js';
import { INIT_CACHE_LABELS, type InitCacheHit } from '../engine/init-cache.js';
import { abortError, ContainerStartError, CspecError, isCspecError } from '../errors.js';
import type { ResolvedImage } from '../image/types.js';
import { hostNetworkNamespace } from '../network/host-network.js';
import { containerOpenFilesLimit } from '../sandbox/host-limits.js';
import { readAccountFiles } from '../sandbox/image-accounts.js';
import { buildOciConfig, overlayMountDirs } from '../sandbox/oci-config.js';
import type { OciRuntime } from '../sandbox/oci-runtime.js';
import { copyFilesIntoUpper } from '../sandbox/rootfs-files.js';
import { createRuntimeMessageFilter, runtimeMessagePrefixes } from '../sandbox/runtime-message-filter.js';
import { defaultSeccompProfile, hostSeccompArch, kernelVersion } from '../sandbox/seccomp-profile.js';
import { loadSeccompProfile, resolveSecurityOptions } from '../sandbox/security-options.js';
import { resolveUser } from '../sandbox/user-lookup.js';
import { ensureLayerLinks, layerLinkPath } from '../snapshot/layer-links.js';
import { createLayeredRoot } from '../snapshot/layered-root.js';
import { assertOverlayFits } from '../snapshot/overlay-limits.js';
import { defaultContainerName, newContainerId } from '../util/ids.js';
import { withImageHealthcheck } from '../wait/spec.js';
import { describeWait } from '../wait/wait-for.js';
import { enforceableLimits } from './enforceable-limits.js';
import { releaseName, reserveName } from './names.js';
import { NativeContainer, type PortForward } from './native-container.js';
import { containerPaths, writableDirFor } from './paths.js';
import { forwardThroughHub } from './port-hub.js';
import type { ContainerSpec } from './spec.js';
import { type ContainerState, writeContainerState } from './state.js';
import { teardownContainer } from './teardown.js';
import { type ResolvedSpec, validateSpec } from './validate-spec.js';

const debug = createDebug('cspec:container');
const timing = createDebug('cspec:timing');

const LOG_TAIL_LINES = 30;

export interface StartOptions extends RunOptions {
  readonly sessionId: string | null;
  /**
   * Looks up (or makes) the init-cache state for the spec and its resolved
   * image (engine/init-cache.ts); the container starts from it when found.
   */
  readonly initCache?: (
    spec: ResolvedSpec,
    image: ResolvedImage,
    signal: AbortSignal,
  ) => Promise<InitCacheHit | undefined>;
  readonly onRemoved: (id: string) => void;
  /**
   * Join this process's network namespace, with the host's resolv.conf (build
   * steps with `RUN --network=host`; not in ContainerSpec). The spec must
   * publish no ports and join no networks: those are set up in a namespace of its own.
   * @default false
   */
  readonly hostNetwork?: boolean;
}

function commandFor(spec: ResolvedSpec, image: ResolvedImage): string[] {
  const entrypoint = spec.entrypoint ?? image.config.entrypoint ?? [];
  const cmd = spec.command ?? (spec.entrypoint ? [] : (image.config.cmd ?? []));
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) {
    throw new CspecError(
      'CSPEC_INVALID_SPEC',
      `image ${spec.image} has no default command and none was given — pass a command`,
    );
  }
  return args;
}

function envFor(spec: ResolvedSpec, image: ResolvedImage, hostname: string, home: string): string[] {
  const env = new Map<string, string>();
  for (const entry of image.config.env) {
    const eq = entry.indexOf('=');
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  if (!env.has('PATH')) env.set('PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  env.set('HOSTNAME', hostname);
  if (!env.has('HOME')) env.set('HOME', home);
  for (const [k, v] of Object.entries(spec.env ?? {})) env.set(k, v);
  return [...env].map(([k, v]) => `${k}=${v}`);
}

/**
 * Containers have no route to the outside (only the host and their networks),
 * so they get no nameserver: a lookup that misses /etc/hosts fails at once
 * (glibc falls back to 127.0.0.1, where nothing listens) instead of waiting
 * for an unreachable resolver of the host.
 */
const RESOLV_CONF = [
  '# cspec: no outbound network; container names and aliases resolve through /etc/hosts',
  'options timeout:1 attempts:1',
  '',
].join('\n');

/**
 * Creates, starts and waits for a container. Once its image is in the store
 * (built or pulled first, which only the caller's signal ends: a first build
 * of a service image takes minutes), one deadline covers the init cache,
 * start and readiness; on any failure everything created so far is removed
 * and the error carries the last log lines.
 */
export async function startContainer(
  ctx: EngineContext,
  input: ContainerSpec,
  options: StartOptions,
): Promise<NativeContainer> {
  const spec = validateSpec(input);
  await checkBindSources(spec);
  // A profile file that cannot be read or parsed fails here, before anything exists.
  const security = resolveSecurityOptions(spec.securityOpt);
  const seccompProfile = await loadSeccompProfile(security.seccomp, defaultSeccompProfile);
  let phase = `preparing image ${spec.image}`;
  // `DEBUG=cspec:timing`: where the milliseconds of a start go, one line per container.
  const marks: [string, number][] = [['begin', performance.now()]];
  const mark = (what: string) => timing.enabled && marks.push([what, performance.now()]);
  const base = await ctx.images
    .resolve(spec.image, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    })
    .catch((error: unknown) => {
      if (!options.signal?.aborted || isCspecError(error, 'CSPEC_ABORTED')) throw error;
      throw abortError(options.signal, `starting ${spec.image} (${phase})`);
    });
  mark('image');
  const deadline = AbortSignal.timeout(spec.startupTimeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  // Whoever ended the start — the caller or the startup deadline — the error names the phase.
  const deadlineError = (error: unknown): unknown => {
    if (options.signal?.aborted) {
      return isCspecError(error, 'CSPEC_ABORTED')
        ? error
        : abortError(options.signal, `starting ${spec.image} (${phase})`);
    }
    if (deadline.aborted && !isCspecError(error, 'CSPEC_CONTAINER_NOT_READY')) {
      return new CspecError(
        'CSPEC_CONTAINER_NOT_READY',
        `container did not start within ${spec.startupTimeoutMs} ms (timed out while ${phase}) — raise startupTimeoutMs`,
        { cause: error },
      );
    }
    return error;
  };
  phase = 'preparing the init cache';
  const fromCache = await options.initCache?.(spec, base, signal).catch((error: unknown) => {
    throw deadlineError(error);
  });
  const image = fromCache?.image ?? base;
  mark('init cache');
  const wait = spec.wait && withImageHealthcheck(spec.wait, image.config.healthcheck);
  if (spec.wait && !wait) {
    throw new CspecError(
      'CSPEC_INVALID_SPEC',
      `image ${spec.image} has no HEALTHCHECK to wait for — give the command instead ({ type: 'command', command: [...] })`,
    );
  }
  const id = newContainerId();
  const name = spec.name ?? defaultContainerName(id);
  const paths = containerPaths(ctx.config, id, writableDirFor(ctx.config, id, spec.writableLayer));
  const hostname = spec.hostname ?? id.slice(0, 12);
  // Layers are mounted through their short links; an image that cannot be mounted fails here, before anything exists.
  assertOverlayFits(
    {
      lowerDirs: image.layerDirs.map(layerLinkPath),
      otherOptions: [`upperdir=${paths.upper}`, `workdir=${paths.work}`],
      userxattr: ctx.config.rootless,
    },
    `image ${image.reference}`,
  );
  const args = commandFor(spec, image);
  // Before anything exists: a limit this host cannot enforce fails here when it must be enforced.
  const resources = enforceableLimits(spec.resources, {
    limits: ctx.cgroups.limits,
    requireLimits: ctx.config.requireLimits,
  });
  let state: ContainerState = {
    version: 1,
    id,
    name,
    image: image.reference,
    imageId: image.id,
    createdAt: new Date().toISOString(),
    command: args,
    labels: containerLabels(image, spec),
    sessionId: options.detached ? null : options.sessionId,
    writable: paths.writable,
    stopSignal: spec.stopSignal ?? image.config.stopSignal ?? 'SIGTERM',
    ports: {},
    layerDirs: image.layerDirs,
    ociRuntime: ctx.runtime.binary,
  };
  const forwards: PortForward[] = [];
  let container: NativeContainer | undefined;
  try {
    // The directory first: a name whose container directory exists is taken (see names.ts).
    // Its state (config.json holds the environment) and the writable layer are the owner's only.
    await Promise.all([
      mkdir(paths.rootfs, { recursive: true, mode: PRIVATE_DIR_MODE }),
      mkdir(paths.writable, { recursive: true, mode: PRIVATE_DIR_MODE }),
    ]);
    const resolvConf = options.hostNetwork
      ? await readFile('/etc/resolv.conf', 'utf8').catch(() => '')
      : RESOLV_CONF;
    const root = createLayeredRoot([paths.upper, ...[...image.layerDirs].reverse()]);
    // Independent of one another: the name and state, the writable layer's dirs, the files runc mounts.
    // All settle before a failure is thrown, so that teardown never races a mkdir that is still running.
    const [user] = await allSettled([
      (async () => {
        await Promise.all([mkdirSharedRoot(paths.upper), mkdir(paths.work)]);
        // Files given in the spec may replace /etc/passwd or /etc/group: copied before the user is looked up.
        if (spec.files?.length) await copyFilesIntoUpper(paths.upper, root, spec.files);
        const { passwd, group } = spec.files?.length
          ? await readAccountFiles(root)
          : await ctx.accounts.get(image.layerDirs, () => readAccountFiles(root));
        return resolveUser(spec.user ?? image.config.user, passwd, group);
      })(),
      // Side by side: a failed start releases the name whether or not the state names it (see below).
      reserveName(ctx.config, name, id),
      writeContainerState(paths.state, state),
      ...(spec.mounts ?? []).flatMap((m, i) => {
        if (m.type !== 'overlay') return [];
        const dirs = overlayMountDirs(paths.mounts, i);
        return [
          mkdir(dirs.work, { recursive: true }),
          mkdir(dirname(dirs.upper), { recursive: true }).then(() => mkdirSharedRoot(dirs.upper)),
        ];
      }),
      writeReadable(paths.hostname, `${hostname}\n`),
      writeReadable(paths.resolvConf, resolvConf),
      // runc appends to it; created here so that it is the owner's only, like the container's log.
      writeFile(paths.runtimeLog, '', { mode: 0o600 }),
    ]);
    mark('files');
    phase = 'setting up the network';
    const net = await ctx.network.setupContainer(
      {
        containerId: id,
        name,
        hostname,
        hostsFile: paths.hosts,
        publishesPorts: spec.ports.length > 0,
        networks: spec.networks ?? [],
      },
      { signal },
    );
    mark('network');
    state = { ...state, network: net.state, ipAddress: net.ipAddress };
    // Teardown finds the network through the state file; the loopback-only namespace runc makes needs none.
    if (net.netnsPath !== undefined) await writeContainerState(paths.state, state);

    if (spec.ports.length > 0) {
      if (!net.ipAddress) throw new CspecError('CSPEC_INTERNAL', 'published ports need a container address');
      if (options.detached && ctx.config.rootless) {
        // The port hub forwards on the host, where a rootless container's address is not reachable.
        throw new CspecError(
          'CSPEC_HOST_UNSUPPORTED',
          'a detached container cannot publish ports in rootless mode yet: its ports are forwarded by the process that starts it',
          { hint: 'start it attached (without --detach), or as root' },
        );
      }
      if (options.detached) {
        // Written first, so that a failure below still tells teardown to ask the hub.
        state = { ...state, portHub: true };
        await writeContainerState(paths.state, state);
        state = { ...state, ports: await forwardThroughHub(ctx.config, id, net.ipAddress, spec.ports) };
      } else {
        const ports: Record<string, number> = {};
        for (const p of spec.ports) {
          const forward = await ctx.network.publishPort({
            targetHost: net.ipAddress,
            targetPort: p.container,
            ...(p.host ? { hostPort: p.host } : {}),
          });
          forwards.push(forward);
          ports[String(p.container)] = forward.hostPort;
        }
        state = { ...state, ports };
      }
      await writeContainerState(paths.state, state);
    }

    const ociConfig = buildOciConfig({
      process: {
        args,
        env: envFor(spec, image, hostname, user.home),
        cwd: spec.workingDir ?? (image.config.workingDir || '/'),
        uid: user.uid,
        gid: user.gid,
        additionalGids: user.additionalGids,
      },
      hostname,
      rootPath: paths.rootfs,
      lowerDirs: await ensureLayerLinks(image.layerDirs),
      upperDir: paths.upper,
      workDir: paths.work,
      mounts: spec.mounts ?? [],
      mountsDir: paths.mounts,
      etcFiles: { hosts: paths.hosts, hostname: paths.hostname, resolvConf: paths.resolvConf },
      netnsPath: options.hostNetwork ? hostNetworkNamespace(ctx.config) : net.netnsPath,
      cgroupsPath: ctx.cgroups.pathFor(id),
      resources,
      swapLimitSupported: ctx.swapLimitSupported,
      labels: state.labels,
      openFilesLimit: containerOpenFilesLimit(),
      ...(seccompProfile
        ? {
            seccomp: {
              profile: seccompProfile,
              arch: hostSeccompArch(process.arch),
              kernel: kernelVersion(release()),
            },
          }
        : {}),
      noNewPrivileges: security.noNewPrivileges,
      // In a user namespace overlayfs reads its markers (opaque directories) from user.overlay.*.
      overlayUserXattr: ctx.config.rootless,
    });
    // The container's environment is in it: secrets, often.
    await writeFile(paths.config, JSON.stringify(ociConfig), { mode: 0o600 });

    // OOM kills are only read back (from the kept cgroup) when a memory limit can cause them.
    const keep = resources?.memoryBytes !== undefined;
    // Only a detached container outlives this process, and needs a monitor to record its exit.
    const run = { id, keep, bundle: paths.dir, dir: paths.dir, monitor: options.detached === true };
    const spawnMonitor = (): ChildProcess => {
      const monitor = options.inheritStdio
        ? attachedStart(ctx.runtime, run)
        : withLogFd(paths.log, (fd) =>
            // The container writes its log itself: no pipe through this process, and it survives us.
            ctx.runtime.start({ ...run, stdio: ['ignore', fd, fd] }),
          );
      monitor.on('error', () => {});
      // A detached container must not keep this process alive.
      if (options.detached) monitor.unref();
      return monitor;
    };
    mark('ports+config');
    phase = `starting the process with ${ctx.runtime.name}`;
    const monitor = spawnMonitor();
    container = new NativeContainer(
      {
        ctx,
        state,
        paths,
        layerDirs: image.layerDirs,
        forwards,
        spawnMonitor,
        exitCodeFromMonitor: !run.monitor && !keep,
        onRemoved: options.onRemoved,
        ...(wait
          ? {
              readiness: {
                wait,
                timeoutMs: spec.startupTimeoutMs,
                ...(fromCache ? { skippedLog: fromCache.skippedLog } : {}),
              },
            }
          : {}),
      },
      monitor,
    );
    await container.waitStarted(signal);
    mark('started');
    if (wait) {
      phase = `waiting for ${describeWait(wait)}`;
      await container.waitReady(signal, deadline);
      mark('ready');
    }
    debug('started %s (%s)', name, id.slice(0, 12));
    if (timing.enabled) {
      const steps = marks.slice(1).map(([what, t], i) => `${what} ${(t - marks[i]![1]).toFixed(1)}`);
      timing('%s: %s ms (total %s)', name, steps.join(', '), (performance.now() - marks[0]![1]).toFixed(1));
    }
    return container;
  } catch (error) {
    const logTail = await readFile(paths.log, 'utf8')
      .then((t) =>
        t
          .split('\n')
          .slice(-LOG_TAIL_LINES - 1)
          .join('\n'),
      )
      .catch(() => '');
    const exitCode = container?.exited?.exitCode;
    await Promise.all(forwards.map((f) => f.close().catch(() => {})));
    await (container ? container.remove() : teardownContainer(ctx, id, paths.writable)).catch((e) =>
      debug('cleanup after failure: %O', e),
    );
    // Also when the state file was never written (teardown finds the name through it).
    await releaseName(ctx.config, name, id).catch(() => {});
    throw wrapStartError(deadlineError(error), { id, name, image: spec.image, logTail, exitCode });
  }
}

/** The image's labels (less the init cache's own record of a skipped log) and the spec's. */
function containerLabels(image: ResolvedImage, spec: ResolvedSpec): Record<string, string> {
  const labels: Record<string, string> = { ...(image.config.labels ?? {}), ...(spec.labels ?? {}) };
  delete labels[INIT_CACHE_LABELS.skippedLog];
  return labels;
}

/**
 * An overlay's upper directory: its mode is the mode of the mount's root (the
 * container's `/`), which every user inside must traverse. 0755 whatever the
 * umask; the directory around it keeps other host users out.
 */
async function mkdirSharedRoot(path: string): Promise<void> {
  await mkdir(path);
  await chmod(path, 0o755);
}

/** A file bind-mounted into the container (/etc/hostname, /etc/resolv.conf): 0644 whatever the umask. */
async function writeReadable(path: string, text: string): Promise<void> {
  await writeFile(path, text);
  await chmod(path, 0o644);
}

/** Promise.all that waits for every promise before it rejects with the first failure. */
async function allSettled<T extends readonly unknown[]>(
  promises: readonly [...{ [K in keyof T]: Promise<T[K]> }],
): Promise<T> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

function withLogFd<T>(path: string, use: (fd: number) => T): T {
  const fd = openSync(path, 'a', 0o600);
  try {
    return use(fd);
  } finally {
    closeSync(fd);
  }
}

async function checkBindSources(spec: ResolvedSpec): Promise<void> {
  for (const m of spec.mounts ?? []) {
    if (m.type === 'tmpfs') continue;
    const found = await stat(m.source).catch(() => undefined);
    if (!found) {
      throw new CspecError(
        'CSPEC_INVALID_SPEC',
        `${m.type} mount source ${m.source} does not exist on the host — create it first or fix the path`,
      );
    }
    if (m.type === 'overlay' && !found.isDirectory()) {
      throw new CspecError(
        'CSPEC_INVALID_SPEC',
        `overlay mount source ${m.source} is not a directory — an overlay mount shows a host directory; use a bind mount for a file`,
      );
    }
  }
}

function wrapStartError(
  error: unknown,
  details: { id: string; name: string; image: string; logTail: string; exitCode: number | undefined },
): Error {
  const base = isCspecError(error)
    ? error
    : new CspecError(
        (error as Error)?.name === 'TimeoutError'
          ? 'CSPEC_CONTAINER_NOT_READY'
          : 'CSPEC_CONTAINER_START_FAILED',
        (error as Error)?.name === 'TimeoutError'
          ? 'container did not start within its startup timeout — raise startupTimeoutMs'
          : `container could not start: ${(error as Error)?.message ?? String(error)}`,
        { cause: error },
      );
  // Failures before anything ran (bad spec, image, name, a command the image lacks) need no log tail.
  const nothingRan = details.exitCode === undefined || base.code === 'CSPEC_COMMAND_NOT_FOUND';
  if (!details.logTail.trim() && nothingRan) return base;
  return new ContainerStartError(
    base.code,
    `container ${details.name} (${details.image}): ${base.message}`,
    { containerId: details.id, logTail: details.logTail, exitCode: details.exitCode },
    { cause: base.cause ?? base, ...(base.hint ? { hint: base.hint } : {}) },
  );
}

/**
 * Starts an attached container: stdin and stdout are this process's; stderr
 * goes through a pipe that drops the runtime's own failure line (the error
 * comes back as a CspecError from the runtime's log instead), see
 * runtime-message-filter.ts.
 */
function attachedStart(
  runtime: OciRuntime,
  run: Omit<Parameters<OciRuntime['start']>[0], 'stdio'>,
): ChildProcess {
  const child = runtime.start({ ...run, stdio: ['inherit', 'inherit', 'pipe'] });
  const filter = createRuntimeMessageFilter(runtimeMessagePrefixes(runtime.name), (chunk) => {
    process.stderr.write(chunk);
  });
  child.stderr?.on('data', (chunk: Buffer) => filter.push(chunk));
  child.stderr?.on('end', () => filter.end());
  return child;
}

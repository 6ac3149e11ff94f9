/**
 * The init cache: an image's first-start work (Postgres: initdb, a server on
 * the socket to create the database and run /docker-entrypoint-initdb.d, a
 * clean stop) done once, committed as an image, and started from on every
 * later start with the same inputs — the entrypoint finds its data directory
 * initialised and starts the server at once.
 *
 * The contract (docs/init-cache.md): the image prints a line matching
 * `doneLog` when the work is complete, skips the work when its data
 * directory is already initialised, and exits with code 0 on its stop
 * signal. Images declare it with labels; a spec can declare it for an image.
 *
 * The key is the base image id plus every spec input that can change what
 * that work writes: entrypoint, command, environment, user, working dir,
 * hostname, resources, tmpfs mounts and the content of every file copied in.
 * Ports, names, networks, labels and the wait strategy are not inputs.
 *
 * Readiness: the first start waits for the image's done line and then for
 * the server the work ends in (prepareWait), whatever the caller waits for.
 * A cached start does not print what the skipped work printed (Postgres: its
 * first "ready to accept connections"). That part of the log is kept with the
 * cached image and log waits count its matches — but never alone: at least
 * one match must be printed by this start. So `{ type: 'log', pattern }` and
 * `{ …, times: 2 }` both mean "the real server is up", with and without the
 * cache. The container's log itself shows only what this start printed.
 */
import { createHash, type Hash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { ContainerSpec, FileSpec, InitCacheSpec } from '../container/spec.js';
import type { ResolvedSpec } from '../container/validate-spec.js';
import { createDebug } from '../debug.js';
import { ContainerStartError, CspecError } from '../errors.js';
import type { ImageService, ResolvedImage } from '../image/types.js';
import type { WaitSpec } from '../wait/spec.js';
import type { RunOptions } from './engine.js';
import { cachedImage, type PrepareDeps, prepareImage } from './prepare-image.js';

const debug = createDebug('cspec:init-cache');

/** Labels an image declares the contract with, and those a cached image carries. */
export const INIT_CACHE_LABELS = {
  /** Regular expression of the log line printed when the first-start work is done. */
  doneLog: 'dev.cspec.init-cache.done-log',
  /** The directory that work fills (optional). */
  dataDir: 'dev.cspec.init-cache.data-dir',
  /** On a cached image: the id of the image it was made from. */
  base: 'dev.cspec.init-cache.base',
  /** On a cached image: the reference it was made from. */
  from: 'dev.cspec.init-cache.from',
  /** On a cached image: the log of the skipped work, up to and including the done line. */
  skippedLog: 'dev.cspec.init-cache.skipped-log',
} as const;

/** Repository prefix of cached images: `cspec-init/postgres:<key>`. */
export const INIT_CACHE_REPOSITORY = 'cspec-init';

class NoFirstStartWork extends Error {}

/** What a start from the cache needs: the cached image and the log of the work it skips. */
export interface InitCacheHit {
  readonly image: ResolvedImage;
  readonly skippedLog: string;
}

export function initCacheContract(spec: ContainerSpec, image: ResolvedImage): InitCacheSpec | undefined {
  if (spec.initCache === false) return undefined;
  if (typeof spec.initCache === 'object') return spec.initCache;
  const labels = image.config.labels ?? {};
  // Made from a cached image (or one itself): its data directory is initialised already.
  if (labels[INIT_CACHE_LABELS.base]) return undefined;
  const doneLog = labels[INIT_CACHE_LABELS.doneLog];
  if (doneLog) {
    const dataDir = labels[INIT_CACHE_LABELS.dataDir];
    return { doneLog, ...(dataDir ? { dataDir } : {}) };
  }
  return undefined;
}

/** Why this spec cannot use the cache (a mount the commit would not capture), or undefined. */
function uncacheable(spec: ContainerSpec, contract: InitCacheSpec): string | undefined {
  if (spec.entrypoint && typeof spec.initCache !== 'object') {
    return "it replaces the image's entrypoint, which is what keeps the image's init cache contract";
  }
  for (const m of spec.mounts ?? []) {
    if (m.type !== 'tmpfs')
      return `it has a ${m.type} mount (${m.target}), whose content is not part of the cache`;
    const dir = contract.dataDir;
    if (dir && (within(m.target, dir) || within(dir, m.target))) {
      return `its tmpfs mount ${m.target} covers the data directory ${dir}, which the cache would not capture`;
    }
  }
  return undefined;
}

function within(path: string, dir: string): boolean {
  const p = posix.normalize(path);
  const d = posix.normalize(dir).replace(/\/$/, '');
  return p === d || p.startsWith(`${d}/`) || d === '';
}

async function hashTree(hash: Hash, path: string, name: string): Promise<void> {
  const info = await lstat(path);
  if (info.isSymbolicLink()) {
    hash.update(`l\0${name}\0${await readlink(path)}\0`);
  } else if (info.isDirectory()) {
    hash.update(`d\0${name}\0${info.mode & 0o7777}\0`);
    for (const entry of (await readdir(path)).sort())
      await hashTree(hash, join(path, entry), `${name}/${entry}`);
  } else {
    hash.update(`f\0${name}\0${info.mode & 0o7777}\0${info.size}\0`);
    hash.update(await readFile(path));
  }
}

async function fileDigest(file: FileSpec): Promise<string> {
  const hash = createHash('sha256');
  hash.update(JSON.stringify([file.target, file.mode ?? null, file.uid ?? null, file.gid ?? null]));
  if (file.content !== undefined) hash.update(`c\0${file.content}`);
  else if (file.contentBase64 !== undefined) hash.update(Buffer.from(`b\0${file.contentBase64}`));
  else if (file.source !== undefined) {
    try {
      await hashTree(hash, file.source, '.');
    } catch (error) {
      throw new CspecError(
        'CSPEC_INVALID_SPEC',
        `cannot read "${file.source}" (to be copied to ${file.target}): ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
  return hash.digest('hex');
}

/** The cache key: the base image id and every spec input that can change the first-start work. */
export async function initCacheKey(
  spec: ContainerSpec,
  image: ResolvedImage,
  contract: InitCacheSpec,
): Promise<string> {
  const inputs = {
    version: 1,
    base: image.id,
    contract: { doneLog: contract.doneLog, dataDir: contract.dataDir ?? null },
    entrypoint: spec.entrypoint ?? null,
    command: spec.command ?? null,
    env: Object.entries(spec.env ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    user: spec.user ?? null,
    workingDir: spec.workingDir ?? null,
    hostname: spec.hostname ?? null,
    resources: spec.resources ?? null,
    tmpfs: (spec.mounts ?? []).filter((m) => m.type === 'tmpfs'),
    files: await Promise.all((spec.files ?? []).map(fileDigest)),
  };
  return createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 32);
}

/** `cspec-init/<last path part of the base repository>:<key>`. */
export function initCacheReference(image: ResolvedImage, key: string): string {
  const name =
    image.reference
      .split('@')[0]!
      .replace(/:[^/:]*$/, '')
      .split('/')
      .at(-1) ?? 'image';
  return `${INIT_CACHE_REPOSITORY}/${name.toLowerCase().replace(/[^a-z0-9._-]/g, '-')}:${key}`;
}

/** The done line's pattern; `^` and `$` match at line boundaries (the log is many lines). */
function doneLine(doneLog: string): RegExp {
  return new RegExp(doneLog, 'm');
}

/** The log up to the end of the line that matches `doneLog` (everything if none does). */
export function logUntilDone(log: string, doneLog: string): string {
  const match = doneLine(doneLog).exec(log);
  if (!match) return log;
  const end = log.indexOf('\n', match.index + match[0].length);
  return end === -1 ? log : log.slice(0, end + 1);
}

/**
 * What the container that does the first-start work waits for before it is
 * stopped and committed: what the image declares as the end of that work
 * (its done line), then the server that work ends in — the caller's log wait
 * counting only lines after the done line, else the image's HEALTHCHECK, else
 * the caller's wait (its log parts again after the done line). Never the
 * caller's wait alone: a one-match wait for Postgres's "ready to accept
 * connections" is met by the server of the init phase, before the work is
 * done; and the server must be up to stop cleanly (an entrypoint shell still
 * running as pid 1 ignores the stop signal).
 */
export function prepareWait(doneLog: string, wait: WaitSpec | undefined, healthcheck: boolean): WaitSpec {
  const done: WaitSpec = { type: 'log', pattern: doneLog, flags: 'm' };
  const serving =
    wait && logsOnly(wait) ? afterDone(wait, doneLog) : healthcheck ? { type: 'healthcheck' as const } : wait;
  return serving ? { type: 'all', of: [done, afterDone(serving, doneLog)] } : done;
}

function logsOnly(wait: WaitSpec): boolean {
  return wait.type === 'log' || (wait.type === 'all' && wait.of.every(logsOnly));
}

function afterDone(wait: WaitSpec, doneLog: string): WaitSpec {
  if (wait.type === 'log') return { ...wait, after: doneLog };
  if (wait.type === 'all') return { type: 'all', of: wait.of.map((w) => afterDone(w, doneLog)) };
  return wait;
}

/**
 * The cached image for this spec, made now if it is not there yet; undefined
 * when the image declares no contract (or the spec turns it off, or cannot use it).
 */
export async function initCacheFor(
  deps: PrepareDeps,
  spec: ResolvedSpec,
  image: ResolvedImage,
  options: RunOptions,
): Promise<InitCacheHit | undefined> {
  if (spec.initCache === false || options.inheritStdio) return undefined;
  const contract = initCacheContract(spec, image);
  if (!contract) {
    if (spec.initCache === true) {
      throw new CspecError(
        'CSPEC_INVALID_SPEC',
        `image ${spec.image} declares no init cache contract (label ${INIT_CACHE_LABELS.doneLog}), so initCache: true cannot be honoured`,
        {
          hint: "give the contract in the spec: initCache: { doneLog: '<line printed when the init is done>' }",
        },
      );
    }
    return undefined;
  }
  const why = uncacheable(spec, contract);
  if (why) {
    if (spec.initCache !== undefined) {
      throw new CspecError('CSPEC_INVALID_SPEC', `this container cannot start from the init cache: ${why}`, {
        hint: 'remove the mount, or set initCache: false',
      });
    }
    debug('%s: not cached, %s', spec.image, why);
    return undefined;
  }
  const reference = initCacheReference(image, await initCacheKey(spec, image, contract));
  const ready = prepareWait(contract.doneLog, spec.wait, image.config.healthcheck !== undefined);
  const started = performance.now();
  const { name: _name, networks: _networks, ...unnamed } = spec;
  const prepared = await prepareImage(deps, {
    reference,
    spec: {
      ...unnamed,
      ports: spec.ports.map((p) => p.container),
      initCache: false,
      labels: { ...(spec.labels ?? {}), 'dev.cspec.init-cache': 'init' },
      wait: ready,
    },
    run: {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    },
    comment: `cspec: first-start work of ${image.reference}`,
    labels: { [INIT_CACHE_LABELS.base]: image.id, [INIT_CACHE_LABELS.from]: image.reference },
    prepare: async (container) => {
      const log = await container.logText();
      if (!doneLine(contract.doneLog).test(log)) throw new NoFirstStartWork();
      return { [INIT_CACHE_LABELS.skippedLog]: logUntilDone(log, contract.doneLog) };
    },
  }).catch((error: unknown) => {
    if (error instanceof NoFirstStartWork) return undefined;
    // Ended with code 0 before the done line: a one-shot command that bypasses the work.
    if (error instanceof ContainerStartError && error.exitCode === 0) return undefined;
    // The startup deadline, before the done line (and the server after it).
    if ((options.signal?.reason as Error | undefined)?.name === 'TimeoutError') {
      throw new CspecError(
        'CSPEC_CONTAINER_NOT_READY',
        `container did not start within ${spec.startupTimeoutMs} ms: the first start of ${spec.image} with these inputs does the image's first-start work, to be cached, and it had not printed /${contract.doneLog}/ and started its server by then`,
        {
          cause: error,
          hint: "raise startupTimeoutMs; if this command does not do that work (it bypasses the image's initialisation), set initCache: false",
        },
      );
    }
    throw error;
  });
  if (!prepared) {
    // Ended without the done line: this start does no first-start work (a
    // command that bypasses it), so there is nothing to cache.
    debug('%s: no /%s/ in its log, not cached', spec.image, contract.doneLog);
    return undefined;
  }
  debug(
    '%s: %s %s (%d ms)',
    spec.image,
    prepared.reused ? 'from' : 'made',
    reference,
    Math.round(performance.now() - started),
  );
  return {
    image: prepared.image,
    skippedLog: prepared.image.config.labels?.[INIT_CACHE_LABELS.skippedLog] ?? '',
  };
}

/**
 * Removes cached images whose base image no tag names any more (it was
 * removed or its tag moved to a newer build); their content then goes with
 * the image prune that follows. Returns how many were removed.
 */
export async function pruneInitCache(images: ImageService): Promise<number> {
  const all = await images.list();
  const isCache = (reference: string) =>
    reference.startsWith(`${INIT_CACHE_REPOSITORY}/`) ||
    reference.startsWith(`docker.io/${INIT_CACHE_REPOSITORY}/`);
  const liveIds = new Set(all.filter((i) => !isCache(i.reference)).map((i) => i.id));
  let removed = 0;
  for (const entry of all.filter((i) => isCache(i.reference))) {
    const image = await cachedImage(images, entry.reference);
    const base = image?.config.labels?.[INIT_CACHE_LABELS.base];
    if (base && liveIds.has(base)) continue;
    await images.remove(entry.reference).catch((error) => debug('prune %s: %O', entry.reference, error));
    removed++;
  }
  return removed;
}

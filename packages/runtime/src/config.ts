import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The only place that reads the process environment. Everything else receives
 * a `RuntimeConfig`.
 */
export interface RuntimeConfig {
  /** Images, layers and blobs. `/var/lib/cspec` for root, `$XDG_DATA_HOME/cspec` otherwise. */
  readonly dataDir: string;
  /** Container state, bundles, logs, sessions. `/run/cspec` for root, `$XDG_RUNTIME_DIR/cspec` otherwise. */
  readonly runDir: string;
  /** Writable layers of containers kept in memory: a tmpfs. */
  readonly tmpfsDir: string;
  /** OCI runtime binary name or path (`runc`, `crun`), or undefined to detect. */
  readonly ociRuntime: string | undefined;
  /** Debian mirror used by the bootstrap image source. */
  readonly debianMirror: string;
  /** `DEBUG` value, for `cspec:*` namespaces. */
  readonly debug: string;
  /** Node binary that runs helper processes (the session watcher). */
  readonly nodePath: string;
  /** Registry pulls and pushes: mirror, plain-HTTP hosts, where credentials come from. */
  readonly registry: RegistryConfig;
  /**
   * Network namespaces an engine keeps made ahead for containers that
   * publish ports (`CSPEC_NETNS_POOL`, default 8; 0 turns it off).
   */
  readonly netnsPoolSize: number;
  /**
   * Host-wide claims on the point-to-point blocks and network subnets cspec
   * leases, shared by every run directory so that two of them never hand
   * out the same addresses: `/run/cspec-ipam` for root (not configurable:
   * it must be the same for every process on the host).
   */
  readonly hostIpamDir: string;
  /**
   * Containers run in a user namespace that maps this user as root and its
   * subordinate ids as everyone else (docs/rootless.md): the mode of every
   * user but root, and of root with `CSPEC_ROOTLESS=1`.
   */
  readonly rootless: boolean;
  /**
   * A resource limit that this host cannot enforce (a rootless engine with
   * no delegated cgroup) fails the start instead of a warning
   * (`CSPEC_REQUIRE_LIMITS=1`).
   */
  readonly requireLimits: boolean;
}

export interface RegistryConfig {
  /**
   * A registry that serves Docker Hub's images instead of registry-1.docker.io
   * (`CSPEC_REGISTRY_MIRROR`, e.g. `http://127.0.0.1:5000` or `https://mirror.gcr.io`).
   */
  readonly dockerHubMirror: string | undefined;
  /**
   * Hosts (`host[:port]`) reached over plain HTTP besides 127.0.0.0/8, `::1`
   * and `localhost` (`CSPEC_INSECURE_REGISTRIES`, comma-separated).
   */
  readonly insecureRegistries: readonly string[];
  /** Docker's client config file, for its `auths` (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`). */
  readonly dockerConfigFile: string;
  /**
   * The same JSON given inline (`DOCKER_AUTH_CONFIG`); asked before the file.
   * Holds secrets: never log it.
   */
  readonly dockerAuthConfig: string | undefined;
}

export interface ConfigOverrides {
  readonly dataDir?: string;
  readonly runDir?: string;
  readonly tmpfsDir?: string;
  readonly ociRuntime?: string;
  readonly debianMirror?: string;
  readonly registry?: Partial<RegistryConfig>;
  readonly netnsPoolSize?: number;
  readonly rootless?: boolean;
  readonly requireLimits?: boolean;
}

export function resolveConfig(
  overrides: ConfigOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
): RuntimeConfig {
  const rootless = overrides.rootless ?? (process.getuid?.() !== 0 || env.CSPEC_ROOTLESS === '1');
  const root = !rootless;
  const home = env.HOME ?? homedir();
  const dataDir =
    overrides.dataDir ??
    env.CSPEC_DATA_DIR ??
    (root ? '/var/lib/cspec' : join(env.XDG_DATA_HOME ?? join(home, '.local', 'share'), 'cspec'));
  const runDir =
    overrides.runDir ??
    env.CSPEC_RUN_DIR ??
    (root
      ? '/run/cspec'
      : join(env.XDG_RUNTIME_DIR ?? join('/tmp', `cspec-${process.getuid?.() ?? 'user'}`), 'cspec'));
  const tmpfsDir =
    overrides.tmpfsDir ??
    env.CSPEC_TMPFS_DIR ??
    join('/dev/shm', root ? 'cspec' : `cspec-${process.getuid?.()}`);
  return {
    dataDir,
    runDir,
    tmpfsDir,
    ociRuntime: overrides.ociRuntime ?? env.CSPEC_OCI_RUNTIME,
    debianMirror: overrides.debianMirror ?? env.CSPEC_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian',
    debug: env.DEBUG ?? '',
    nodePath: process.execPath,
    netnsPoolSize: overrides.netnsPoolSize ?? poolSize(env.CSPEC_NETNS_POOL),
    hostIpamDir: root ? '/run/cspec-ipam' : join(runDir, 'host-ipam'),
    rootless,
    requireLimits: overrides.requireLimits ?? env.CSPEC_REQUIRE_LIMITS === '1',
    registry: {
      dockerHubMirror: env.CSPEC_REGISTRY_MIRROR || undefined,
      insecureRegistries: (env.CSPEC_INSECURE_REGISTRIES ?? '').split(/[\s,]+/).filter(Boolean),
      dockerConfigFile: join(env.DOCKER_CONFIG ?? join(home, '.docker'), 'config.json'),
      dockerAuthConfig: env.DOCKER_AUTH_CONFIG || undefined,
      ...overrides.registry,
    },
  };
}

function poolSize(value: string | undefined): number {
  if (value === undefined || value === '') return 8;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    throw new Error(
      `CSPEC_NETNS_POOL must be a whole number of namespaces (0 turns the pool off), not "${value}"`,
    );
  }
  return n;
}

/** `DEBUG` for the diagnostics module, read here so no other module touches the environment. */
export function debugPatternFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return env.DEBUG ?? '';
}

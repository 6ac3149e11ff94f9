/**
 * Gathers the facts of `cspec doctor`'s rootless section from the host: the
 * sysctls, the subordinate id files, newuidmap/newgidmap, and two real probes
 * (a user namespace, and an overlay mount with `userxattr` inside one, on
 * temporary directories that are removed again).
 */
import { spawnSync } from 'node:child_process';
import {
  accessSync,
  constants,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import type { Delegation } from '@cspec/runtime';
import type { IdMapTool, ProbeResult, RootlessFacts } from './rootless-checks.js';

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function probe(command: string, args: readonly string[]): ProbeResult {
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    timeout: 10_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (result.error) return { ok: false, error: result.error.message };
  if (result.status === 0) return { ok: true };
  const error = `${result.stderr}${result.stdout}`.trim().split('\n').slice(-2).join(' ');
  return { ok: false, error: error || `exit status ${result.status ?? result.signal}` };
}

/** Mounts an overlay with `userxattr` as root of a new user namespace, and reads a lower file through it. */
function overlayProbe(): ProbeResult {
  const dir = mkdtempSync(join(tmpdir(), 'cspec-doctor-'));
  try {
    for (const d of ['lower', 'upper', 'work', 'merged']) mkdirSync(join(dir, d));
    writeFileSync(join(dir, 'lower', 'probe'), 'cspec\n');
    // Absolute paths: a relative one would resolve through the old mount namespace.
    const options = `userxattr,lowerdir=${dir}/lower,upperdir=${dir}/upper,workdir=${dir}/work`;
    return probe('unshare', [
      '--user',
      '--map-root-user',
      '--mount',
      'sh',
      '-c',
      'mount -t overlay overlay -o "$1" "$2" && test -f "$2/probe"',
      'sh',
      options,
      `${dir}/merged`,
    ]);
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  } finally {
    // The mount went with its namespace; overlay's work/work is mode 0, made by the user's mapped root.
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      spawnSync('chmod', ['-R', 'u+rwx', dir]);
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

function idMapTool(path: string | undefined): IdMapTool | undefined {
  if (path === undefined) return undefined;
  try {
    const st = statSync(path);
    const setuidRoot = st.uid === 0 && (st.mode & 0o4000) !== 0;
    if (setuidRoot) return { path, setuidRoot };
    const caps = spawnSync('getcap', [path], { encoding: 'utf8', timeout: 5000 });
    return { path, setuidRoot, fileCaps: caps.status === 0 ? caps.stdout.trim() : undefined };
  } catch {
    return undefined;
  }
}

function creatable(path: string): boolean {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    try {
      accessSync(dir, constants.W_OK | constants.X_OK);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || dir === '/') return false;
    }
  }
}

export interface RootlessFactsInput {
  readonly uid: number;
  /** /proc/sys/user/max_user_namespaces. */
  readonly maxUserNamespaces: string | undefined;
  /** Absolute paths of newuidmap and newgidmap, where found. */
  readonly newuidmap: string | undefined;
  readonly newgidmap: string | undefined;
  /** The directory cspec's run directory lives in, and whether XDG_RUNTIME_DIR named it. */
  readonly runBase: string;
  readonly runBaseFromXdg: boolean;
  /** @cspec/runtime's findDelegatedCgroup, when the package loaded. */
  readonly findDelegatedCgroup: ((options: { user: string }) => Delegation) | undefined;
}

/** The account's name (the subordinate files name users by name), through NSS; the uid if it has none. */
function userName(uid: number): string {
  try {
    return userInfo().username;
  } catch {
    return String(uid);
  }
}

export function gatherRootlessFacts(input: RootlessFactsInput): RootlessFacts {
  const user = userName(input.uid);
  const disabled = Number(input.maxUserNamespaces?.trim() ?? '1') === 0;
  const usernsProbe: ProbeResult = disabled
    ? { ok: false, error: 'user.max_user_namespaces is 0' }
    : probe('unshare', ['--user', '--map-root-user', 'true']);
  const delegation = input.findDelegatedCgroup?.({ user });
  let owner: number | undefined;
  let mode: number | undefined;
  try {
    const st = statSync(input.runBase);
    owner = st.uid;
    mode = st.mode;
  } catch {
    // does not exist (yet)
  }
  return {
    user,
    apparmorRestrictUserns: read('/proc/sys/kernel/apparmor_restrict_unprivileged_userns'),
    unprivilegedUsernsClone: read('/proc/sys/kernel/unprivileged_userns_clone'),
    subuid: read('/etc/subuid') ?? '',
    subgid: read('/etc/subgid') ?? '',
    newuidmap: idMapTool(input.newuidmap),
    newgidmap: idMapTool(input.newgidmap),
    usernsProbe,
    overlayProbe: usernsProbe.ok ? overlayProbe() : undefined,
    delegation:
      delegation === undefined
        ? undefined
        : delegation.delegated
          ? {
              found: true,
              version: delegation.delegated.version,
              path: delegation.delegated.path,
              dirs: delegation.delegated.dirs.length,
            }
          : { found: false, reason: delegation.reason, recipe: delegation.recipe },
    runBase: {
      path: input.runBase,
      fromXdg: input.runBaseFromXdg,
      owner,
      mode,
      creatable: creatable(input.runBase),
    },
  };
}

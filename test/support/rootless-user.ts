/**
 * An ordinary user for the rootless tests: created (with a subordinate id
 * range) by scripts/rootless-user.sh, as CI does, and a "world" for it: its
 * own data, run and tmpfs directories, and the repository reachable through
 * a read-only bind mount at a path every user can traverse (a checkout in a
 * 0700 directory would be out of its reach). Processes run as the user
 * through setpriv, which execs: the pid a test gets is the user's process,
 * so SIGKILL reaches it and nothing between.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT } from './run-cli.js';

export const ROOTLESS_USER = 'cspec-rootless';

export interface RootlessUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  /** First host id of its subordinate range (uid 1 inside). */
  readonly subuidStart: number;
  readonly subgidStart: number;
}

export interface Outcome {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RootlessWorld {
  readonly user: RootlessUser;
  /** CSPEC_DATA_DIR, CSPEC_RUN_DIR, CSPEC_TMPFS_DIR of the user (0700, its own). */
  readonly dirs: { readonly data: string; readonly run: string; readonly tmpfs: string };
  /** The repository, as the user sees it. */
  readonly repo: string;
  /** Starts `node --import tsx <repo>/<script> ...args` as the user (with `ipc`, an IPC channel to it). */
  spawn(
    script: string,
    args?: readonly string[],
    env?: Readonly<Record<string, string>>,
    options?: { readonly ipc?: boolean },
  ): ChildProcess;
  /** The same, to its end. */
  run(script: string, args?: readonly string[], env?: Readonly<Record<string, string>>): Promise<Outcome>;
  /** Any command line as the user, to its end. */
  command(argv: readonly string[], env?: Readonly<Record<string, string>>): Promise<Outcome>;
  /** `cspec ...args` (the built CLI) as the user. */
  cli(args: readonly string[], env?: Readonly<Record<string, string>>): Promise<Outcome>;
  /** Removes the user's directories and the bind mount (not the user). */
  close(): Promise<void>;
}

function rangeStart(file: string, name: string): number {
  const line = readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`${file} has no range for ${name}`);
  return Number(line.split(':')[1]);
}

/** The user, made if this host does not have it yet (idempotent). */
export function ensureRootlessUser(name = ROOTLESS_USER): RootlessUser {
  execFileSync('bash', [join(ROOT, 'scripts/rootless-user.sh'), name], { stdio: 'pipe' });
  const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
  const home =
    execFileSync('getent', ['passwd', name], { encoding: 'utf8' }).split(':')[5] ?? `/home/${name}`;
  return {
    name,
    uid: id('-u'),
    gid: id('-g'),
    home,
    subuidStart: rangeStart('/etc/subuid', name),
    subgidStart: rangeStart('/etc/subgid', name),
  };
}

function collect(child: ChildProcess): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

export async function openRootlessWorld(user: RootlessUser): Promise<RootlessWorld> {
  // Traversable by the user, and removed by root afterwards (its content belongs to the user's ids).
  const base = mkdtempSync('/tmp/cspec-rootless-');
  await chmod(base, 0o755);
  const repo = join(base, 'repo');
  const own = join(base, 'own');
  await mkdir(repo);
  await mkdir(own, { mode: 0o700 });
  execFileSync('chown', [`${user.uid}:${user.gid}`, own]);
  execFileSync('mount', ['--bind', '-o', 'ro', ROOT, repo]);
  const dirs = { data: join(own, 'data'), run: join(own, 'run'), tmpfs: `/dev/shm/${base.split('/').pop()}` };
  const envFor = (extra: Readonly<Record<string, string>> = {}) => ({
    HOME: user.home,
    USER: user.name,
    LOGNAME: user.name,
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    LANG: 'C.UTF-8',
    NO_COLOR: '1',
    CSPEC_DATA_DIR: dirs.data,
    CSPEC_RUN_DIR: dirs.run,
    CSPEC_TMPFS_DIR: dirs.tmpfs,
    ...(process.env.DEBUG ? { DEBUG: process.env.DEBUG } : {}),
    ...extra,
  });
  const asUser = (argv: readonly string[], env?: Readonly<Record<string, string>>, ipc = false) =>
    spawn(
      'setpriv',
      [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', '--inh-caps=-all', '--', ...argv],
      { cwd: repo, env: envFor(env), stdio: ['ignore', 'pipe', 'pipe', ...(ipc ? ['ipc' as const] : [])] },
    );
  const nodeArgs = (script: string, args: readonly string[]) => [
    process.execPath,
    '--import',
    'tsx',
    '--conditions',
    'cspec-source',
    join(repo, script),
    ...args,
  ];
  return {
    user,
    dirs,
    repo,
    spawn: (script, args = [], env, options = {}) => asUser(nodeArgs(script, args), env, options.ipc),
    run: (script, args = [], env) => collect(asUser(nodeArgs(script, args), env)),
    command: (argv, env) => collect(asUser(argv, env)),
    cli: (args, env) =>
      collect(asUser([process.execPath, join(repo, 'packages/cli/dist/bin.js'), ...args], env)),
    async close() {
      execFileSync('umount', [repo]);
      rmSync(base, { recursive: true, force: true });
      rmSync(dirs.tmpfs, { recursive: true, force: true });
    },
  };
}

import { execFileSync, spawnSync } from 'node:child_process';

/** An unprivileged host account that stands for "any other local user". */
export const OTHER_USER = 'cspec-other';

export interface OtherUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

export interface AsOtherUserResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The account, created (no home, no login shell) if this host does not have it yet. */
export function ensureOtherUser(): OtherUser {
  const lookup = () => spawnSync('id', ['-u', OTHER_USER], { encoding: 'utf8' });
  if (lookup().status !== 0) {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', OTHER_USER]);
  }
  const uid = Number(execFileSync('id', ['-u', OTHER_USER], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', OTHER_USER], { encoding: 'utf8' }).trim());
  return { name: OTHER_USER, uid, gid };
}

/**
 * Runs `command` as the other user: its uid and gid, no supplementary groups,
 * no capabilities, a clean environment (setpriv(1)). Resolves with its exit
 * status and output, whatever they are.
 */
export function asOtherUser(
  user: OtherUser,
  command: readonly string[],
  options: { readonly input?: string } = {},
): AsOtherUserResult {
  const result = spawnSync(
    'setpriv',
    [
      `--reuid=${user.uid}`,
      `--regid=${user.gid}`,
      '--clear-groups',
      '--inh-caps=-all',
      '--reset-env',
      '--',
      // setpriv resolves and execs its command while it still has root's capabilities (it keeps
      // them across the uid change to drop them): the command would pass where the user cannot.
      // A shell it starts has none left, so the shell starts the command.
      '/bin/sh',
      '-c',
      'exec "$0" "$@"',
      ...command,
    ],
    {
      encoding: 'utf8',
      cwd: '/',
      input: options.input ?? '',
      maxBuffer: 256 * 1024 * 1024,
      timeout: 60_000,
    },
  );
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Which of `paths` the other user can reach at all: those it can stat
 * (`-e`, or `-L` for a symbolic link). Checked in one shell, so a whole
 * tree of tens of thousands of paths takes well under a second.
 */
export function reachableByOtherUser(user: OtherUser, paths: readonly string[]): string[] {
  if (paths.length === 0) return [];
  const script = 'while IFS= read -r p; do if [ -e "$p" ] || [ -L "$p" ]; then printf "%s\\n" "$p"; fi; done';
  const result = asOtherUser(user, ['/bin/sh', '-c', script], { input: `${paths.join('\n')}\n` });
  if (result.status !== 0) throw new Error(`checking paths as ${user.name} failed: ${result.stderr}`);
  return result.stdout.split('\n').filter(Boolean);
}

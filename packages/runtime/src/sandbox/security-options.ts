/**
 * `securityOpt` of a ContainerSpec, as Docker's `--security-opt`:
 * `seccomp=unconfined`, `seccomp=builtin` (the default profile),
 * `seccomp=<file>` (a JSON profile in Docker's or OCI's format),
 * `no-new-privileges` and `no-new-privileges=true|false`. Docker's older
 * `key:value` form is accepted too. The last value of a key wins, as in Docker.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CspecError } from '../errors.js';
import { parseSeccompProfile, type SeccompProfile } from './seccomp-profile.js';

export type SeccompChoice =
  | { readonly kind: 'default' }
  | { readonly kind: 'unconfined' }
  /** An absolute path (a relative one is resolved against the working directory). */
  | { readonly kind: 'file'; readonly path: string };

export interface SecurityOptions {
  readonly seccomp: SeccompChoice;
  /** `prctl(PR_SET_NO_NEW_PRIVS)`: setuid binaries and file capabilities grant nothing. */
  readonly noNewPrivileges: boolean;
}

const SUPPORTED =
  'seccomp=unconfined, seccomp=builtin, seccomp=<profile.json>, no-new-privileges[=true|false]';

function invalid(option: unknown, why: string): CspecError {
  return new CspecError(
    'CSPEC_INVALID_SPEC',
    `securityOpt ${JSON.stringify(option)} is invalid: ${why} — cspec takes ${SUPPORTED}`,
  );
}

/** Go's strconv.ParseBool, which Docker uses for these values. */
function parseBool(value: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  return undefined;
}

/** Checks and resolves `securityOpt`; throws CSPEC_INVALID_SPEC naming the option. */
export function resolveSecurityOptions(options: readonly string[] | undefined): SecurityOptions {
  let seccomp: SeccompChoice = { kind: 'default' };
  let noNewPrivileges = false;
  if (options === undefined) return { seccomp, noNewPrivileges };
  if (!Array.isArray(options)) {
    throw new CspecError(
      'CSPEC_INVALID_SPEC',
      `securityOpt must be a list of strings, got ${JSON.stringify(options)} — e.g. securityOpt: ['seccomp=unconfined']`,
    );
  }
  for (const option of options) {
    if (typeof option !== 'string') throw invalid(option, 'each option must be a string');
    if (option === 'no-new-privileges') {
      noNewPrivileges = true;
      continue;
    }
    const sep = option.includes('=') ? '=' : option.includes(':') ? ':' : undefined;
    if (sep === undefined) throw invalid(option, 'expected key=value');
    const key = option.slice(0, option.indexOf(sep));
    const value = option.slice(option.indexOf(sep) + 1);
    switch (key) {
      case 'seccomp':
        if (value === '')
          throw invalid(option, 'seccomp= needs unconfined, builtin or the path of a profile');
        if (value.includes('\0')) throw invalid(option, 'the path contains a NUL byte');
        seccomp =
          value === 'unconfined'
            ? { kind: 'unconfined' }
            : value === 'builtin'
              ? { kind: 'default' }
              : { kind: 'file', path: resolve(value) };
        break;
      case 'no-new-privileges': {
        const on = parseBool(value);
        if (on === undefined) throw invalid(option, 'no-new-privileges takes true or false');
        noNewPrivileges = on;
        break;
      }
      case 'apparmor':
      case 'label':
      case 'systempaths':
      case 'writable-cgroups':
        throw invalid(option, `"${key}" is a Docker option that cspec does not support`);
      default:
        throw invalid(option, `unknown option "${key}"`);
    }
  }
  return { seccomp, noNewPrivileges };
}

/**
 * The profile a choice names: undefined for unconfined, the default one for
 * `default`, the file's for `file`. A file that cannot be read or parsed gives
 * CSPEC_INVALID_SPEC naming it.
 */
export async function loadSeccompProfile(
  choice: SeccompChoice,
  defaultProfile: () => SeccompProfile,
): Promise<SeccompProfile | undefined> {
  if (choice.kind === 'unconfined') return undefined;
  if (choice.kind === 'default') return defaultProfile();
  let text: string;
  try {
    text = await readFile(choice.path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : (error as Error).message;
    throw new CspecError(
      'CSPEC_INVALID_SPEC',
      `securityOpt seccomp=${choice.path}: cannot read the profile (${why}) — give the path of a JSON seccomp profile, or seccomp=unconfined`,
      { cause: error },
    );
  }
  return parseSeccompProfile(text, choice.path);
}

import { accessSync, constants } from 'node:fs';
import type { CgroupMode } from '../cgroup/driver.js';
import { CspecError } from '../errors.js';

const SEARCH_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export function findExecutable(name: string, dirs: readonly string[] = SEARCH_DIRS): string | undefined {
  if (name.includes('/')) return isExecutable(name) ? name : undefined;
  for (const dir of dirs) {
    const candidate = `${dir}/${name}`;
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Picks the OCI runtime: the configured one, else crun on cgroup v2 hosts
 * (fastest), else runc. crun refuses hybrid cgroup hosts, so it is never
 * chosen there.
 */
export function chooseOciRuntime(
  configured: string | undefined,
  mode: CgroupMode,
  find: (name: string) => string | undefined = findExecutable,
): string {
  if (configured) {
    const found = find(configured);
    if (!found) {
      throw new CspecError(
        'CSPEC_HOST_UNSUPPORTED',
        `the configured OCI runtime "${configured}" was not found`,
        {
          hint: `apt-get install -y ${configured.split('/').pop()}  (or unset CSPEC_OCI_RUNTIME)`,
        },
      );
    }
    if (mode === 'hybrid' && found.endsWith('crun')) {
      throw new CspecError(
        'CSPEC_HOST_UNSUPPORTED',
        'crun does not support hybrid cgroup hosts (cgroup v1 controllers with an empty v2 tree)',
        { hint: 'apt-get install -y runc, and unset CSPEC_OCI_RUNTIME' },
      );
    }
    return found;
  }
  const order = mode === 'v2' ? ['crun', 'runc'] : ['runc'];
  for (const name of order) {
    const found = find(name);
    if (found) return found;
  }
  throw new CspecError(
    'CSPEC_HOST_UNSUPPORTED',
    'no OCI runtime found: cspec needs runc (or crun on cgroup v2)',
    {
      hint: 'apt-get install -y runc',
    },
  );
}

/**
 * The limits a container gets. A rootless engine with no cgroup delegated
 * to its user cannot enforce any: a spec that asks for one runs without it
 * after one warning per process (`CSPEC_LIMITS_IGNORED`, Node's
 * process warnings), or fails when the engine must enforce them
 * (`requireLimits`, `CSPEC_REQUIRE_LIMITS=1`). A limit is never dropped
 * silently.
 */
import { CspecError } from '../errors.js';
import type { ResourceSpec } from './spec.js';

const DELEGATE_HINT =
  'delegate a cgroup subtree to your user (docs/rootless.md, "Cgroup delegation"; `cspec doctor` prints the commands), or run as root';

let warned = false;

function asked(resources: ResourceSpec | undefined): string[] {
  if (!resources) return [];
  return [
    ...(resources.memoryBytes !== undefined ? ['memory'] : []),
    ...(resources.cpus !== undefined ? ['cpus'] : []),
    ...(resources.pids !== undefined ? ['pids'] : []),
  ];
}

export function enforceableLimits(
  resources: ResourceSpec | undefined,
  host: { readonly limits: boolean; readonly requireLimits: boolean },
): ResourceSpec | undefined {
  if (host.limits) return resources;
  const names = asked(resources);
  if (names.length === 0) return undefined;
  const what = `the ${names.join(', ')} limit${names.length > 1 ? 's' : ''} of this container`;
  if (host.requireLimits) {
    throw new CspecError(
      'CSPEC_HOST_UNSUPPORTED',
      `cannot enforce ${what}: no cgroup is delegated to this user, and CSPEC_REQUIRE_LIMITS=1 forbids running without`,
      { hint: DELEGATE_HINT },
    );
  }
  if (!warned) {
    warned = true;
    process.emitWarning(
      `cspec runs containers without ${names.join(', ')} limits: no cgroup is delegated to this user (rootless). To have them, ${DELEGATE_HINT}; CSPEC_REQUIRE_LIMITS=1 makes this an error.`,
      { code: 'CSPEC_LIMITS_IGNORED' },
    );
  }
  return undefined;
}

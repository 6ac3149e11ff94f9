import type { RuntimeConfig } from '../config.js';

/**
 * The network namespace of a container on the host's network (a build step
 * with `RUN --network=host`): root joins this process's by path; a rootless
 * runtime may not join the host's (its user namespace does not own it) and
 * stays in it instead (null: no network namespace in the config).
 */
export function hostNetworkNamespace(config: Pick<RuntimeConfig, 'rootless'>): string | null {
  return config.rootless ? null : `/proc/${process.pid}/ns/net`;
}

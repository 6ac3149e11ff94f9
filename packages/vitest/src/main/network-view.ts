/**
 * A service's connection data as a container on the services' network sees
 * it: the service's name as host and its container port, instead of
 * 127.0.0.1 and the port published on the host. `cspec test --distro` hands
 * this view to the suites it runs in containers.
 */
import type { ProvidedService } from '../provided.js';

/** `ports` maps container ports to the host ports they are published on (a container's `ports`). */
export function seenFromNetwork(
  provided: ProvidedService,
  ports: Readonly<Record<number, number>>,
): ProvidedService {
  if (provided.kind === 'service') {
    const same = Object.fromEntries(Object.keys(ports).map((p) => [Number(p), Number(p)]));
    return { ...provided, host: provided.name, ports: same };
  }
  const published = Object.entries(ports).find(([, host]) => host === provided.port);
  if (!published) {
    throw new Error(
      `cspec: service "${provided.name}" publishes no container port on host port ${provided.port}`,
    );
  }
  return { ...provided, host: provided.name, port: Number(published[0]) };
}

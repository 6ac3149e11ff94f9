import { CspecError } from '../errors.js';

/** A container port as testcontainers accepts it: `8080` or `"8080/tcp"`. */
export type PortNumberOrTcp = number | `${number}/tcp`;

/** Parses a port given as testcontainers accepts it; UDP is refused. */
export function parsePort(port: number | string): number {
  if (typeof port === 'number') return port;
  const match = /^(\d+)(?:\/(tcp|udp))?$/.exec(port);
  if (!match) throw new CspecError('CSPEC_INVALID_SPEC', `port "${port}" is not a port number`);
  if (match[2] === 'udp') {
    throw new CspecError('CSPEC_INVALID_SPEC', `port "${port}": cspec publishes TCP ports only`);
  }
  return Number(match[1]);
}

/**
 * `-p` values: `CONTAINER`, `HOST:CONTAINER` or `127.0.0.1:HOST:CONTAINER`,
 * each optionally ending in `/tcp`. Ports are published on 127.0.0.1 only.
 */
import { UsageError } from './usage-error.js';

export interface PortMapping {
  readonly container: number;
  /** 0 lets the kernel choose. */
  readonly host: number;
}

function port(text: string, what: string, whole: string, allowZero: boolean, command?: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1) || n > 65_535) {
    throw new UsageError(
      `invalid ${what} "${text}" in -p ${whole} — ports are whole numbers from 1 to 65535`,
      command,
    );
  }
  return n;
}

export function parsePortMapping(text: string, command?: string): PortMapping {
  let value = text;
  const slash = value.lastIndexOf('/');
  if (slash !== -1) {
    const protocol = value.slice(slash + 1).toLowerCase();
    if (protocol !== 'tcp') {
      throw new UsageError(`-p ${text}: only tcp ports can be published (got "${protocol}")`, command);
    }
    value = value.slice(0, slash);
  }
  const parts = value.split(':');
  if (parts.length === 3) {
    const ip = parts.shift() as string;
    if (ip !== '127.0.0.1' && ip !== 'localhost' && ip !== '') {
      throw new UsageError(
        `-p ${text}: ports are published on 127.0.0.1 only — drop "${ip}:" or use 127.0.0.1`,
        command,
      );
    }
  }
  if (parts.length === 1) {
    return { container: port(parts[0] as string, 'container port', text, false, command), host: 0 };
  }
  if (parts.length === 2) {
    const host = parts[0] === '' ? 0 : port(parts[0] as string, 'host port', text, true, command);
    return { container: port(parts[1] as string, 'container port', text, false, command), host };
  }
  throw new UsageError(
    `invalid -p ${text} — use CONTAINER, HOST:CONTAINER or 127.0.0.1:HOST:CONTAINER`,
    command,
  );
}

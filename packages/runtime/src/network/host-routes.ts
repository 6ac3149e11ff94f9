/**
 * The subnets the kernel routes in this network namespace (its main table,
 * /proc/net/route): every address on any interface — cspec's, another run
 * directory's, docker0, a VPN — shows up as a route to its subnet. Read from
 * /proc, not from `ip`, so that no process is started on the hot path.
 */
import { readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import type { Subnet } from './ipv4.js';

/** A /proc/net/route field (hex, in the host's byte order) as an unsigned number. */
function hexAddress(hex: string, littleEndian: boolean): number {
  const value = Number.parseInt(hex, 16) >>> 0;
  if (!littleEndian) return value;
  return (
    (((value & 0xff) << 24) |
      (((value >>> 8) & 0xff) << 16) |
      (((value >>> 16) & 0xff) << 8) |
      (value >>> 24)) >>>
    0
  );
}

function prefixLength(mask: number): number {
  let n = 0;
  for (let bit = 31; bit >= 0 && (mask >>> bit) & 1; bit--) n++;
  return n;
}

/** Parses /proc/net/route; the default route (prefix 0) is left out: it overlaps everything. */
export function parseRouteTable(text: string, littleEndian = endianness() === 'LE'): Subnet[] {
  const subnets: Subnet[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 8) continue;
    const destination = fields[1];
    const mask = fields[7];
    if (!destination || !mask || !/^[0-9A-Fa-f]{8}$/.test(destination) || !/^[0-9A-Fa-f]{8}$/.test(mask))
      continue;
    const length = prefixLength(hexAddress(mask, littleEndian));
    if (length === 0) continue;
    subnets.push({ network: hexAddress(destination, littleEndian), prefixLength: length });
  }
  return subnets;
}

export async function hostRoutedSubnets(): Promise<Subnet[]> {
  return parseRouteTable(await readFile('/proc/net/route', 'utf8'));
}

export function subnetsOverlap(a: Subnet, b: Subnet): boolean {
  const aEnd = a.network + 2 ** (32 - a.prefixLength);
  const bEnd = b.network + 2 ** (32 - b.prefixLength);
  return a.network < bEnd && b.network < aEnd;
}

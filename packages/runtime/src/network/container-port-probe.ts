/**
 * Is anything listening on a port inside a container? Read from
 * /proc/<pid>/net/tcp{,6}, which show the sockets of that process's network
 * namespace: no process spawned, no connection made.
 */
import { readFile } from 'node:fs/promises';

const TCP_LISTEN = '0A';

/** Local ports of the sockets in LISTEN state in a /proc/net/tcp or tcp6 table. */
export function listeningPorts(table: string): Set<number> {
  const ports = new Set<number>();
  for (const line of table.split('\n').slice(1)) {
    // sl local_address rem_address st ...
    const fields = line.trim().split(/\s+/);
    const local = fields[1];
    if (fields[3] !== TCP_LISTEN || !local) continue;
    const port = Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
    if (Number.isInteger(port)) ports.add(port);
  }
  return ports;
}

async function readTable(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    // No such process (it exited) or IPv6 disabled: nothing listens there.
    return '';
  }
}

/** True if a socket in the network namespace of `pid` listens on `port` (any address, IPv4 or IPv6). */
export async function isListeningInside(pid: number, port: number): Promise<boolean> {
  const [tcp, tcp6] = await Promise.all([
    readTable(`/proc/${pid}/net/tcp`),
    readTable(`/proc/${pid}/net/tcp6`),
  ]);
  return listeningPorts(tcp).has(port) || listeningPorts(tcp6).has(port);
}

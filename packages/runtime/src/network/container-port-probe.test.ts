import { createServer } from 'node:net';
import { describe, expect, test } from 'vitest';
import { isListeningInside, listeningPorts } from './container-port-probe.js';

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   105        0 23291 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 23292 1 0000000000000000 100 0 0 10 0
   2: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 23293 1 0000000000000000 20 4 30 10 -1
   3: 0100007F:0050 0100007F:C351 06 00000000:00000000 03:00000DBE 00000000     0        0 0 3 0000000000000000
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:18EB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000   999        0 31337 1 0000000000000000 100 0 0 10 0
`;

describe('container port probe', () => {
  test('finds LISTEN sockets only (st 0A), on any address, IPv4 and IPv6', () => {
    expect([...listeningPorts(TCP)].sort()).toEqual([5432, 8080]);
    expect([...listeningPorts(TCP6)]).toEqual([6379]);
    expect(listeningPorts('').size).toBe(0);
    // Established (01) and TIME_WAIT (06) sockets on other ports are not listeners.
    expect(listeningPorts(TCP).has(80)).toBe(false);
  });

  test('sees a listener of this process and not a closed port; a missing pid is not listening', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    expect(await isListeningInside(process.pid, port)).toBe(true);
    await new Promise<void>((r) => server.close(() => r()));
    expect(await isListeningInside(process.pid, port)).toBe(false);
    expect(await isListeningInside(2 ** 22 + 1, port)).toBe(false);
  });
});

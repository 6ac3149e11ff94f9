import { connect } from 'node:net';
import { fixture, IMAGE } from './engine.js';

/** A container answering each line sent to its port 7000 with "HOSTNAME: LINE" (fixtures/servers/tcp-echo.pl). */
export const echoServer = (hostname: string) => ({
  image: IMAGE,
  hostname,
  command: ['perl', '/srv/tcp-echo.pl', '7000'],
  files: [{ target: '/srv/tcp-echo.pl', source: fixture('servers/tcp-echo.pl') }],
  ports: [7000],
  wait: { type: 'ports' as const },
});

/** Sends one line to 127.0.0.1:`port` and resolves with the answer line. */
export function ask(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let data = '';
    socket.on('connect', () => socket.write(`${line}\n`));
    socket.on('data', (d) => {
      data += d;
      if (data.endsWith('\n')) {
        socket.end();
        resolve(data.trim());
      }
    });
    socket.on('error', reject);
  });
}

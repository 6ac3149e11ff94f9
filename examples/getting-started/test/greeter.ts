import { connect } from 'node:net';

/** A client for the greeter service: one line out, one line back. */
export function greet(port: number, name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(`${name}\n`));
    socket.setEncoding('utf8');
    socket.once('data', (line: string) => {
      socket.end();
      resolve(line.trim());
    });
    socket.once('error', reject);
  });
}

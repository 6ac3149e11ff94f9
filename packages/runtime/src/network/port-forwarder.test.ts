import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { isCspecError } from '../errors.js';
import { createPortForwarder, forwardConnections } from './port-forwarder.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function listen(server: Server, port = 0): Promise<number> {
  return new Promise((resolve) =>
    server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
}

/** Replies with the upper-cased request once the client has finished sending (half-close). */
async function upperServer(): Promise<{ port: number; sockets: Set<Socket>; server: Server }> {
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    let data = '';
    socket.on('data', (d) => {
      data += d;
    });
    socket.on('end', () => socket.end(data.toUpperCase()));
    socket.on('close', () => sockets.delete(socket));
  });
  const port = await listen(server);
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await closeServer(server);
  });
  return { port, sockets, server };
}

function request(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let data = '';
    socket.on('data', (d) => {
      data += d;
    });
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
    socket.end(text);
  });
}

describe('port forwarder', () => {
  test('forwards both directions, including a reply sent after the client half-closed', async () => {
    const target = await upperServer();
    const forwarder = await createPortForwarder({ targetHost: '127.0.0.1', targetPort: target.port });
    cleanups.push(() => forwarder.close());
    expect(forwarder.hostPort).toBeGreaterThan(0);
    expect(forwarder.hostPort).not.toBe(target.port);
    const big = 'x'.repeat(1 << 20);
    const [a, b] = await Promise.all([
      request(forwarder.hostPort, 'hello'),
      request(forwarder.hostPort, big),
    ]);
    expect(a).toBe('HELLO');
    expect(b).toBe(big.toUpperCase());
  });

  test('a refused target destroys the client connection', async () => {
    const probe = createServer();
    const deadPort = await listen(probe);
    await closeServer(probe);
    const forwarder = await createPortForwarder({ targetHost: '127.0.0.1', targetPort: deadPort });
    cleanups.push(() => forwarder.close());
    const outcome = await new Promise<string>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: forwarder.hostPort });
      socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      socket.on('end', () => resolve('end'));
    });
    expect(outcome).toBe('ECONNRESET');
  });

  test('close() stops listening and destroys open connections', async () => {
    const target = await upperServer();
    const forwarder = await createPortForwarder({ targetHost: '127.0.0.1', targetPort: target.port });
    const reached = once(target.server, 'connection');
    const socket = connect({ host: '127.0.0.1', port: forwarder.hostPort });
    await reached;
    expect(target.sockets.size).toBe(1);
    const closed = new Promise((r) => socket.once('close', r));
    socket.on('error', () => {});
    await forwarder.close();
    await closed;
    const refused = await new Promise<string>((resolve) => {
      const s = connect({ host: '127.0.0.1', port: forwarder.hostPort });
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? ''));
      s.on('connect', () => resolve('connected'));
    });
    expect(refused).toBe('ECONNREFUSED');
  });

  test('a host port in use is a CSPEC_INVALID_SPEC error naming the port', async () => {
    const blocker = createServer();
    const port = await listen(blocker);
    cleanups.push(() => closeServer(blocker));
    const error = await createPortForwarder({ targetHost: '127.0.0.1', targetPort: 1, hostPort: port }).catch(
      (e: unknown) => e,
    );
    expect(isCspecError(error, 'CSPEC_INVALID_SPEC')).toBe(true);
    expect((error as Error).message).toContain(`127.0.0.1:${port} is already in use`);
  });

  test('forwardConnections serves an already listening server', async () => {
    const target = await upperServer();
    const server = createServer();
    const port = await listen(server);
    const forwarding = forwardConnections(server, { host: '127.0.0.1', port: target.port });
    cleanups.push(() => forwarding.close());
    expect(await request(port, 'abc')).toBe('ABC');
  });
});

/**
 * Publishes a container port on 127.0.0.1 with a userland TCP proxy: each
 * accepted connection is piped to the container's address. No iptables, no
 * daemon; the listening socket can be handed to another process.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { createDebug } from '../debug.js';
import { CspecError } from '../errors.js';

const debug = createDebug('cspec:network');

export interface ForwardTarget {
  readonly host: string;
  readonly port: number;
}

export interface Forwarding {
  /** Stops accepting, destroys open connections and resolves when the server has closed. */
  close(): Promise<void>;
}

export interface PortForwarderOptions {
  readonly targetHost: string;
  readonly targetPort: number;
  /** Port on 127.0.0.1; omitted or 0 lets the kernel choose (no races). */
  readonly hostPort?: number;
}

export interface PortForwarder extends Forwarding {
  readonly hostPort: number;
}

function destroyHard(socket: Socket): void {
  // A reset tells the client the target is not there, like connecting to it directly would.
  if (!socket.destroyed) socket.resetAndDestroy();
}

/**
 * Forwards every connection `server` accepts (now listening or later) to
 * `target`. Used as is by the forwarder process of detached containers,
 * which receives its listening servers from the parent.
 */
export function forwardConnections(server: Server, target: ForwardTarget): Forwarding {
  const open = new Set<Socket>();
  server.on('connection', (client) => {
    // Half-closed connections stay usable in both directions (request sent, response pending).
    client.allowHalfOpen = true;
    const upstream = connect({ host: target.host, port: target.port, allowHalfOpen: true });
    open.add(client);
    open.add(upstream);
    // A clean close ends the other side (after its pending data); a failed one resets it.
    client.on('close', (hadError) => {
      open.delete(client);
      if (hadError) destroyHard(upstream);
      else upstream.end();
    });
    upstream.on('close', (hadError) => {
      open.delete(upstream);
      if (hadError) destroyHard(client);
      else client.end();
    });
    client.on('error', (error) => {
      debug('forward %s:%d client: %s', target.host, target.port, error.message);
      destroyHard(upstream);
    });
    upstream.on('error', (error) => {
      debug('forward %s:%d upstream: %s', target.host, target.port, error.message);
      destroyHard(client);
    });
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        open.clear();
        if (!server.listening) {
          resolve();
          return;
        }
        server.close(() => resolve());
      }),
  };
}

/**
 * A server listening on 127.0.0.1:hostPort (or a kernel-chosen port), not yet
 * forwarding; a port that is taken or privileged is a `CSPEC_INVALID_SPEC`.
 */
export async function listenOnLoopback(hostPort = 0): Promise<{ server: Server; port: number }> {
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: false });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE' || error.code === 'EACCES'
          ? new CspecError(
              'CSPEC_INVALID_SPEC',
              error.code === 'EADDRINUSE'
                ? `port 127.0.0.1:${hostPort} is already in use — choose another host port or omit it to let the kernel choose`
                : `port 127.0.0.1:${hostPort} needs privileges to bind — choose a port above 1023 or omit it`,
              { cause: error },
            )
          : new CspecError(
              'CSPEC_NETWORK_FAILED',
              `cannot listen on 127.0.0.1:${hostPort}: ${error.message}`,
              {
                cause: error,
              },
            ),
      );
    });
    server.listen({ host: '127.0.0.1', port: hostPort, exclusive: true }, () => resolve());
  });
  const address = server.address();
  if (!address || typeof address !== 'object') {
    server.close();
    throw new CspecError('CSPEC_INTERNAL', 'listening server has no address');
  }
  return { server, port: address.port };
}

/** Opens 127.0.0.1:hostPort (or a kernel-chosen port) and forwards it to the target. */
export async function createPortForwarder(options: PortForwarderOptions): Promise<PortForwarder> {
  const { server, port } = await listenOnLoopback(options.hostPort);
  const forwarding = forwardConnections(server, { host: options.targetHost, port: options.targetPort });
  debug('127.0.0.1:%d -> %s:%d', port, options.targetHost, options.targetPort);
  return { hostPort: port, close: forwarding.close };
}

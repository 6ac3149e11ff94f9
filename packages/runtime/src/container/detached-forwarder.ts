import { fork } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import type { RuntimeConfig } from '../config.js';
import { CspecError } from '../errors.js';
import { helperCommand } from '../session/helper-process.js';
import type { ProcessIdentity } from '../util/process-identity.js';
import { readStartTime } from '../util/process-identity.js';

export interface ForwarderMessage {
  readonly targetHost: string;
  readonly targetPort: number;
}

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new CspecError(
              'CSPEC_INVALID_SPEC',
              `port 127.0.0.1:${port} is already in use — choose another host port or omit it to let the kernel choose`,
            )
          : error,
      ),
    );
    server.listen({ host: '127.0.0.1', port }, () => resolve(server));
  });
}

const FORWARDER_READY_MS = 10_000;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Published ports of a detached container must outlive this process: the
 * listening sockets are opened here (so the kernel picks free ports without
 * races) and handed to a small forwarder process that the container owns.
 */
export async function startDetachedForwarder(
  config: RuntimeConfig,
  targetHost: string,
  ports: readonly { readonly container: number; readonly host: number }[],
): Promise<{ ports: Record<string, number>; process: ProcessIdentity }> {
  const servers: Server[] = [];
  try {
    for (const p of ports) servers.push(await listen(p.host));
    const helper = helperCommand(config.nodePath, import.meta.url, 'detached-forwarder-main');
    const child = fork(helper.args.at(-1)!, [], {
      execPath: helper.file,
      execArgv: helper.args.slice(0, -1),
      detached: true,
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
    try {
      const acked = new Promise<void>((resolve, reject) => {
        let acks = 0;
        child.on('message', () => {
          acks++;
          if (acks === ports.length) resolve();
        });
        child.once('exit', (code) => reject(new Error(`port forwarder exited with code ${code}`)));
      });
      const result: Record<string, number> = {};
      await Promise.all(
        ports.map(
          (p, i) =>
            new Promise<void>((resolve, reject) => {
              const message: ForwarderMessage = { targetHost, targetPort: p.container };
              child.send(message, servers[i], (error) => (error ? reject(error) : resolve()));
              const address = servers[i]!.address();
              if (address && typeof address === 'object') result[String(p.container)] = address.port;
            }),
        ),
      );
      await withTimeout(acked, FORWARDER_READY_MS, 'the port forwarder did not take over the ports');
      child.disconnect();
      child.unref();
      const pid = child.pid!;
      return { ports: result, process: { pid, startTime: readStartTime(pid) ?? '' } };
    } catch (error) {
      child.kill('SIGKILL');
      throw new CspecError(
        'CSPEC_INTERNAL',
        `could not start the port forwarder of a detached container: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  } finally {
    for (const s of servers) s.close();
  }
}

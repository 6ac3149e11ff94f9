/**
 * Entry point of the port hub (see port-hub-protocol.ts). Opens listeners on
 * 127.0.0.1 for the containers it is asked to serve, forwards their
 * connections, drops a container's forwards when asked or when the
 * container's directory is gone, and exits once it serves nobody.
 */
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { isCspecError } from '../errors.js';
import { createPortForwarder, type PortForwarder } from '../network/port-forwarder.js';
import { currentProcessIdentity } from '../util/process-identity.js';
import {
  PORT_HUB_PROTOCOL,
  type PortHubRequest,
  type PortHubResponse,
  portHubPaths,
} from './port-hub-protocol.js';

const SWEEP_MS = 1000;
const IDLE_EXIT_MS = 3000;

const runDir = process.argv[2];
if (!runDir) throw new Error('usage: port-hub-main RUN_DIR');
const paths = portHubPaths({ runDir });
const served = new Map<string, PortForwarder[]>();
const clients = new Set<Socket>();
let idleSince = Date.now();

async function drop(id: string): Promise<void> {
  const forwards = served.get(id);
  served.delete(id);
  if (served.size === 0) idleSince = Date.now();
  await Promise.all((forwards ?? []).map((f) => f.close().catch(() => {})));
}

async function handle(request: PortHubRequest): Promise<PortHubResponse> {
  if (request.protocol !== PORT_HUB_PROTOCOL) {
    return {
      ok: false,
      code: 'CSPEC_INTERNAL',
      message: `port hub speaks protocol ${PORT_HUB_PROTOCOL}, not ${request.protocol}`,
    };
  }
  if (request.op === 'remove') {
    await drop(request.id);
    return { ok: true };
  }
  const opened: PortForwarder[] = [];
  const ports: Record<string, number> = {};
  try {
    for (const p of request.ports) {
      const forward = await createPortForwarder({
        targetHost: request.targetHost,
        targetPort: p.container,
        ...(p.host ? { hostPort: p.host } : {}),
      });
      opened.push(forward);
      ports[String(p.container)] = forward.hostPort;
    }
  } catch (error) {
    await Promise.all(opened.map((f) => f.close().catch(() => {})));
    return {
      ok: false,
      code: isCspecError(error) ? error.code : 'CSPEC_NETWORK_FAILED',
      message: (error as Error).message,
    };
  }
  await drop(request.id);
  served.set(request.id, opened);
  return { ok: true, ports };
}

const server = createServer((socket) => {
  clients.add(socket);
  let buffer = '';
  socket.on('data', (chunk) => {
    buffer += chunk.toString();
    for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      handle(JSON.parse(line) as PortHubRequest).then(
        (response) => socket.write(`${JSON.stringify(response)}\n`),
        (error: Error) =>
          socket.write(`${JSON.stringify({ ok: false, code: 'CSPEC_INTERNAL', message: error.message })}\n`),
      );
    }
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    clients.delete(socket);
    idleSince = Date.now();
  });
});

async function shutdown(): Promise<void> {
  server.close();
  const mine = JSON.stringify(currentProcessIdentity());
  // Only this hub's own files: a newer hub may already have replaced them.
  const { readFile } = await import('node:fs/promises');
  if ((await readFile(paths.identity, 'utf8').catch(() => '')) === mine) {
    await rm(paths.identity, { force: true });
    await rm(paths.socket, { force: true });
  }
  process.exit(0);
}

setInterval(() => {
  for (const id of served.keys()) {
    if (!existsSync(join(paths.containers, id))) void drop(id);
  }
  if (served.size === 0 && clients.size === 0 && Date.now() - idleSince > IDLE_EXIT_MS) void shutdown();
}, SWEEP_MS);

await rm(paths.socket, { force: true });
server.listen(paths.socket, async () => {
  await writeFile(paths.identity, JSON.stringify(currentProcessIdentity()));
  process.send?.('ready');
});

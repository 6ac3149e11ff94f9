/**
 * Published ports of detached containers must outlive the process that
 * started them. One port hub process per host forwards them all (see
 * port-hub-main.ts): started on first need under a lock, reached over its
 * unix socket, gone once it serves no container. A container's teardown
 * asks the hub to drop its forwards; the hub also drops those of containers
 * whose directory disappeared.
 */
import { fork } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RuntimeConfig } from '../config.js';
import { CspecError, type CspecErrorCode } from '../errors.js';
import { helperCommand } from '../session/helper-process.js';
import { acquireFileLock } from '../util/file-lock.js';
import { isProcessAlive, type ProcessIdentity } from '../util/process-identity.js';
import {
  PORT_HUB_PROTOCOL,
  type PortHubRequest,
  type PortHubResponse,
  portHubPaths,
} from './port-hub-protocol.js';

const READY_MS = 10_000;

async function hubIdentity(path: string): Promise<ProcessIdentity | undefined> {
  try {
    const identity = JSON.parse(await readFile(path, 'utf8')) as ProcessIdentity;
    return isProcessAlive(identity) ? identity : undefined;
  } catch {
    return undefined;
  }
}

function connectTo(socketPath: string): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    socket.once('connect', () => resolve(socket));
    socket.once('error', () => resolve(undefined));
  });
}

function request(socket: Socket, message: PortHubRequest): Promise<PortHubResponse> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      const nl = buffer.indexOf('\n');
      if (nl === -1) return;
      socket.off('data', onData);
      resolve(JSON.parse(buffer.slice(0, nl)) as PortHubResponse);
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error('the port hub closed the connection')));
    socket.write(`${JSON.stringify(message)}\n`);
  });
}

async function spawnHub(config: RuntimeConfig): Promise<void> {
  const helper = helperCommand(config.nodePath, import.meta.url, 'port-hub-main');
  const child = fork(helper.args.at(-1)!, [config.runDir], {
    execPath: helper.file,
    execArgv: helper.args.slice(0, -1),
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready within ${READY_MS} ms`)), READY_MS);
      child.once('message', () => {
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`exited with code ${code}`));
      });
    });
  } catch (error) {
    child.kill('SIGKILL');
    throw new CspecError('CSPEC_INTERNAL', `could not start the port hub: ${(error as Error).message}`, {
      cause: error,
    });
  }
  child.disconnect();
  child.unref();
}

/** A connection to the running hub, starting one if `start` and none answers. */
async function openHub(config: RuntimeConfig, start: boolean): Promise<Socket | undefined> {
  const paths = portHubPaths(config);
  if (!start) return (await hubIdentity(paths.identity)) ? connectTo(paths.socket) : undefined;
  await mkdir(paths.dir, { recursive: true });
  const release = await acquireFileLock(paths.lock, { timeoutMs: 30_000 });
  try {
    const running = await hubIdentity(paths.identity);
    if (running) {
      const socket = await connectTo(paths.socket);
      if (socket) return socket;
      // It is shutting down: let it finish removing its files first.
      for (let i = 0; i < 40 && isProcessAlive(running); i++) await sleep(50);
    }
    await spawnHub(config);
    const socket = await connectTo(paths.socket);
    if (!socket) throw new CspecError('CSPEC_INTERNAL', 'the port hub started but does not answer');
    return socket;
  } finally {
    await release();
  }
}

/** Opens the container's published ports in the hub; returns container port -> host port. */
export async function forwardThroughHub(
  config: RuntimeConfig,
  id: string,
  targetHost: string,
  ports: readonly { readonly container: number; readonly host: number }[],
): Promise<Record<string, number>> {
  const socket = (await openHub(config, true)) as Socket;
  try {
    const response = await request(socket, { op: 'add', protocol: PORT_HUB_PROTOCOL, id, targetHost, ports });
    if (!response.ok) throw new CspecError(response.code as CspecErrorCode, response.message);
    return response.ports ?? {};
  } finally {
    socket.destroy();
  }
}

/** Closes the container's ports in the hub, if a hub runs. */
export async function releaseFromHub(config: RuntimeConfig, id: string): Promise<void> {
  const socket = await openHub(config, false);
  if (!socket) return;
  try {
    await request(socket, { op: 'remove', protocol: PORT_HUB_PROTOCOL, id });
  } finally {
    socket.destroy();
  }
}

/**
 * The forwarder of a rootless engine's published ports: one Node process
 * running in the rootless network namespace (rootless-net-host.ts), where
 * containers' addresses are reachable. This process listens on 127.0.0.1 of
 * the host and hands each listening socket over the IPC channel
 * (`child.send(message, server)`); the forwarder accepts its connections and
 * dials the container, as the root engine's forwarders do on the host.
 *
 * Started once, on the first published port, and shared by every container
 * of the holder. It ends with this process: when the IPC channel closes
 * (also when this process is killed), it exits.
 */
import { spawn } from 'node:child_process';
import type { Server } from 'node:net';
import type { RuntimeConfig } from '../config.js';
import { createDebug } from '../debug.js';
import { CspecError } from '../errors.js';
import { helperCommand } from '../session/helper-process.js';
import type { Forwarding, ForwardTarget } from './port-forwarder.js';
import type { ForwarderReply, ForwarderRequest } from './rootless-port-forwarder-protocol.js';

const debug = createDebug('cspec:network');

const READY_MS = 15_000;

export interface LoopbackForwarder {
  readonly pid: number;
  /**
   * Hands a listening server over; resolves once the forwarder accepts its
   * connections. The caller closes its own copy of the server then.
   */
  hand(server: Server, target: ForwardTarget): Promise<Forwarding>;
  /** Resolves when the forwarder process has exited. */
  readonly exited: Promise<void>;
}

/** Starts the forwarder; `enter` wraps its command line (nsenter into the rootless namespace). */
export async function startLoopbackForwarder(
  config: RuntimeConfig,
  enter: (argv: readonly string[]) => string[],
): Promise<LoopbackForwarder> {
  const helper = helperCommand(config.nodePath, import.meta.url, 'rootless-port-forwarder-main');
  const [file, ...args] = enter([helper.file, ...helper.args]) as [string, ...string[]];
  const started = performance.now();
  const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 8192) stderr += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const replies = new Map<number, (reply: ForwarderReply) => void>();
  let nextId = 1;
  let gone = false;

  // Only while a request waits does the channel keep this process alive.
  const hold = () => child.channel?.ref();
  const release = () => {
    if (replies.size === 0) child.channel?.unref();
  };

  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready within ${READY_MS} ms`)), READY_MS);
    child.on('message', (message: ForwarderReply) => {
      if (message.op === 'ready') {
        clearTimeout(timer);
        resolve();
        return;
      }
      const answer = replies.get(message.id);
      replies.delete(message.id);
      answer?.(message);
      release();
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      gone = true;
      clearTimeout(timer);
      reject(new Error(`exited (${signal ?? `code ${code}`})`));
      for (const answer of replies.values())
        answer({ op: 'failed', id: 0, message: 'the port forwarder exited' });
      replies.clear();
    });
  });
  try {
    await ready;
  } catch (error) {
    child.kill('SIGKILL');
    throw new CspecError(
      'CSPEC_NETWORK_FAILED',
      `cannot start the port forwarder in the rootless network namespace: ${(error as Error).message}${stderr.trim() ? `: ${stderr.trim()}` : ''}`,
      { cause: error, hint: 'run with DEBUG=cspec:network; `cspec doctor` checks user namespaces' },
    );
  }
  child.unref();
  release();
  (child.stderr as { unref?: () => void } | null)?.unref?.();
  debug('rootless port forwarder %d ready in %s ms', child.pid, (performance.now() - started).toFixed(1));

  const request = (message: ForwarderRequest, server?: Server): Promise<ForwarderReply> =>
    new Promise((resolve, reject) => {
      if (gone) {
        reject(new CspecError('CSPEC_NETWORK_FAILED', 'the rootless port forwarder has exited'));
        return;
      }
      replies.set(message.id, resolve);
      hold();
      child.send(message, server, (error) => {
        if (!error) return;
        replies.delete(message.id);
        release();
        reject(error);
      });
    });

  return {
    pid: child.pid!,
    exited,
    async hand(server, target) {
      const id = nextId++;
      // Until the forwarder has it, a connection this process accepts is refused, as by a container
      // that does not listen yet; after, the forwarder alone accepts.
      const refuse = (socket: { resetAndDestroy(): void }) => socket.resetAndDestroy();
      server.on('connection', refuse);
      const reply = await request({ op: 'add', id, target }, server);
      server.close();
      if (reply.op === 'failed') throw new CspecError('CSPEC_NETWORK_FAILED', reply.message);
      return {
        async close() {
          if (gone) return;
          await request({ op: 'close', id: nextId++, forward: id }).catch(() => {});
        },
      };
    },
  };
}

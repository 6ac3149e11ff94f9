/**
 * Entry point of a rootless engine's port forwarder (rootless-port-forwarder.ts):
 * runs in the rootless network namespace, receives listening servers over its
 * IPC channel, forwards their connections, and exits when the channel closes.
 */
import type { Server } from 'node:net';
import { type Forwarding, forwardConnections } from './port-forwarder.js';
import type { ForwarderReply, ForwarderRequest } from './rootless-port-forwarder-protocol.js';

const forwards = new Map<number, Forwarding>();
const reply = (message: ForwarderReply) => process.send?.(message);

process.on('message', (message: ForwarderRequest, server?: Server) => {
  if (message.op === 'add') {
    if (!server) {
      reply({ op: 'failed', id: message.id, message: 'no listening socket came with the request' });
      return;
    }
    forwards.set(message.id, forwardConnections(server, message.target));
    reply({ op: 'done', id: message.id });
    return;
  }
  const forward = forwards.get(message.forward);
  forwards.delete(message.forward);
  void (forward?.close() ?? Promise.resolve()).then(() => reply({ op: 'done', id: message.id }));
});

// The engine's process ended (or let go of it): nothing is left to forward for.
process.on('disconnect', () => process.exit(0));
reply({ op: 'ready' });

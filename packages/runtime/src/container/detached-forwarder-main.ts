/**
 * Entry point of the port forwarder of a detached container: receives
 * listening sockets from the process that started the container and forwards
 * each connection to the container until it is killed by the container's teardown.
 */
import type { Server } from 'node:net';
import { forwardConnections } from '../network/port-forwarder.js';
import type { ForwarderMessage } from './detached-forwarder.js';

process.on('message', (message: ForwarderMessage, server: Server | undefined) => {
  if (!server) return;
  forwardConnections(server, { host: message.targetHost, port: message.targetPort });
  process.send?.('ready');
});
process.on('disconnect', () => {
  // keep running: the open servers hold the event loop
});

/** Messages between a rootless engine and its port forwarder (rootless-port-forwarder.ts), over IPC. */
import type { ForwardTarget } from './port-forwarder.js';

export type ForwarderRequest =
  /** Sent with a listening server: forward its connections to `target`. */
  | { readonly op: 'add'; readonly id: number; readonly target: ForwardTarget }
  /** Stop the forward that request `forward` added, closing its connections. */
  | { readonly op: 'close'; readonly id: number; readonly forward: number };

export type ForwarderReply =
  | { readonly op: 'ready' }
  | { readonly op: 'done'; readonly id: number }
  | { readonly op: 'failed'; readonly id: number; readonly message: string };

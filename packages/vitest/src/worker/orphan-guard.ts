/**
 * A setup file the plugin adds to every test worker. A `forks` worker whose
 * Vitest main process is gone (Ctrl-C and SIGTERM end it with
 * `process.exit()`, SIGKILL ends it at once; Vitest does not stop its forks
 * then) would otherwise live on in a hanging test, and so would the
 * containers its tests started with `withContainer` or the
 * testcontainers-style API: they belong to the worker's engine, whose session
 * watcher acts only when the worker dies. So a worker whose IPC channel to
 * the main process closes kills itself, and its session watcher removes its
 * containers. Threads need nothing: they die with the main process.
 */
import { isMainThread } from 'node:worker_threads';

const GUARD = Symbol.for('dev.cspec.vitest.orphan-guard');
const slot = globalThis as { [GUARD]?: true };

if (isMainThread && typeof process.send === 'function' && !slot[GUARD]) {
  slot[GUARD] = true;
  // Vitest never disconnects a live worker: this fires only when the main process is gone.
  process.once('disconnect', () => process.kill(process.pid, 'SIGKILL'));
}

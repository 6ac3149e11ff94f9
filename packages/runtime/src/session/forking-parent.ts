/**
 * The process that forked this one, when a session follows it too.
 *
 * A process started with an IPC channel (`child_process.fork`, Vitest's
 * `forks` and `vmForks` pools) is a part of its parent's work: when the
 * parent dies — Vitest's main process killed, or exiting on Ctrl-C without
 * stopping its workers — the child is orphaned and may hang on for minutes.
 * Its session then ends as if it had died itself. A process whose parent
 * exits for ordinary reasons without an IPC channel (a `nohup`'d script whose
 * shell exited, a daemon) is not followed; nor is a child whose channel was
 * closed on purpose while its parent lives (`process.disconnect()`,
 * `child.disconnect()`). Worker threads need nothing: they end with their
 * process.
 */
import { readFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { type ProcessIdentity, readStartTime } from '../util/process-identity.js';

/** The parent to follow: the forking parent while the IPC channel to it is open, else none. */
export function forkingParent(): ProcessIdentity | undefined {
  if (!isMainThread || typeof process.send !== 'function' || !process.connected) return undefined;
  const pid = process.ppid;
  if (pid <= 1) return undefined;
  const startTime = readStartTime(pid);
  return startTime === undefined ? undefined : { pid, startTime };
}

/** Gone, or a zombie: it has closed its files, its children are orphans (or about to be). */
export function hasExited(identity: ProcessIdentity): boolean {
  if (process.ppid !== identity.pid) return true;
  return readStartTime(identity.pid) !== identity.startTime || processState(identity.pid) === 'Z';
}

function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

export interface ParentWatch {
  /** Called once the parent is gone. */
  readonly gone: () => void;
  /** Called when the channel closed while the parent lives on: the parent is no longer followed. */
  readonly released: () => void;
}

/**
 * How long after the channel closes the parent may still look alive: its
 * files close before the kernel reparents its children and reaps it.
 */
const EXIT_GRACE_MS = 1_000;
const POLL_MS = 10;

const watches = new Set<{ readonly parent: ProcessIdentity; readonly watch: ParentWatch }>();
let listening = false;

function onDisconnect(): void {
  listening = false;
  const pending = [...watches];
  watches.clear();
  const deadline = Date.now() + EXIT_GRACE_MS;
  const check = () => {
    for (const entry of pending.splice(0)) {
      if (hasExited(entry.parent)) entry.watch.gone();
      else if (Date.now() >= deadline) entry.watch.released();
      else pending.push(entry);
    }
    if (pending.length > 0) setTimeout(check, POLL_MS).unref();
  };
  check();
}

/**
 * Calls `watch.gone` when the IPC channel to `parent` closes because the
 * parent died (one listener for the whole process, however many sessions).
 * Returns a function that stops watching.
 */
export function watchForkingParent(parent: ProcessIdentity, watch: ParentWatch): () => void {
  const entry = { parent, watch };
  watches.add(entry);
  if (!listening) {
    listening = true;
    process.once('disconnect', onDisconnect);
  }
  return () => {
    watches.delete(entry);
  };
}

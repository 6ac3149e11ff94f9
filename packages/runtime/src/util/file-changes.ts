import { type FSWatcher, watch } from 'node:fs';

export interface FileChanges {
  /** Resolves when the file changed since the last call (at once if it already has), or after `ms` at the latest. */
  next(ms: number, signal: AbortSignal): Promise<void>;
  close(): void;
}

/**
 * Wakes a polling loop as soon as a file is written (inotify through
 * fs.watch) instead of at its next tick. Where the file cannot be watched,
 * `next` is a plain sleep: the loop still polls.
 */
export function watchFileChanges(path: string): FileChanges {
  let changed = false;
  let wake: (() => void) | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(path, { persistent: false }, () => {
      changed = true;
      wake?.();
    });
    watcher.on('error', () => {
      watcher?.close();
      watcher = undefined;
    });
  } catch {
    watcher = undefined;
  }
  return {
    next(ms, signal) {
      if (changed) {
        changed = false;
        return Promise.resolve();
      }
      return new Promise<void>((resolve, reject) => {
        const settle = (error?: unknown) => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          wake = undefined;
          changed = false;
          if (error === undefined) resolve();
          else reject(error);
        };
        const onAbort = () => settle(signal.reason);
        const timer = setTimeout(() => settle(), ms);
        if (signal.aborted) return settle(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        wake = () => settle();
      });
    },
    close() {
      watcher?.close();
      watcher = undefined;
    },
  };
}

import type { Engine } from './engine.js';
import { createEngine } from './native-engine.js';

/**
 * The engine behind the testcontainers-style API and `withContainer` when no
 * engine is passed: one per process, created on first use. Its containers
 * are removed by `closeDefaultEngine()`, or by the session watcher when the
 * process exits.
 */
let current: Promise<Engine> | undefined;

export function getDefaultEngine(): Promise<Engine> {
  if (!current) {
    current = createEngine();
    current.catch(() => {
      current = undefined;
    });
  }
  return current;
}

export async function closeDefaultEngine(): Promise<void> {
  const engine = current;
  current = undefined;
  if (engine) await (await engine).close();
}

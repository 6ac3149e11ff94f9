import type { ContainerSpec } from '../container/spec.js';
import { createDebug } from '../debug.js';
import type { Container, Engine, RunOptions } from '../engine/engine.js';
import { failureLogSinkInstalled, recordFailureLog } from './failure-logs.js';
import { resolveEngine } from './resolve-engine.js';

const FAILURE_LOG_LINES = 40;

const debug = createDebug('cspec:api');

export interface WithContainerOptions {
  /** @default the per-process engine from `getDefaultEngine()` */
  readonly engine?: Engine;
  readonly signal?: AbortSignal;
  readonly onProgress?: RunOptions['onProgress'];
}

/**
 * Runs a container, hands it to `fn`, and always removes it afterwards.
 *
 * Errors: when `fn` throws, that error is rethrown as the same object (so
 * `instanceof` and `rejects.toThrow(...)` keep working). If removing the
 * container then fails too, the removal error is attached to it as the
 * non-enumerable property `suppressed` (the name `SuppressedError` uses)
 * instead of replacing it. When only the removal fails, its error is thrown.
 * Under the Vitest plugin, the container's last log lines are kept first and
 * shown with the test's failure.
 */
export async function withContainer<T>(
  spec: ContainerSpec,
  fn: (container: Container) => Promise<T>,
  options: WithContainerOptions = {},
): Promise<T> {
  const engine = await resolveEngine(options.engine);
  const container = await engine.run(spec, {
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
    ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
  });
  let result: T;
  try {
    result = await fn(container);
  } catch (error) {
    if (failureLogSinkInstalled()) {
      // Read before the container goes, for the failure report of the test that called this.
      const tail = await container
        .logText({ tail: FAILURE_LOG_LINES })
        .catch((e: Error) => `(logs unreadable: ${e.message})`);
      recordFailureLog({ name: container.name, image: spec.image, tail });
    }
    try {
      await container.remove();
    } catch (removalError) {
      debug('removing %s after an error failed: %O', container.id, removalError);
      if (typeof error === 'object' && error !== null && Object.isExtensible(error)) {
        Object.defineProperty(error, 'suppressed', {
          value: removalError,
          configurable: true,
          writable: true,
        });
      }
    }
    throw error;
  }
  await container.remove();
  return result;
}

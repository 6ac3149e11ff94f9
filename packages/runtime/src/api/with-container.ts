import type { ContainerSpec } from '../container/spec.js';
import { createDebug } from '../debug.js';
import type { Container, Engine, RunOptions } from '../engine/engine.js';
import { resolveEngine } from './resolve-engine.js';

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

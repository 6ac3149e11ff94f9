/** Exit codes of `cspec` (docker's where docker has one). See docs/cli.md. */
import { isUsageError } from './usage-error.js';

export const EXIT = {
  ok: 0,
  /** A check failed (`cspec doctor`). */
  failed: 1,
  /** Bad command line. */
  usage: 2,
  /** A bug in cspec (an unexpected exception). */
  crash: 70,
  /** The engine could not do it (image, spec, host, container not found...). */
  engine: 125,
  /** The container's command exists but cannot be invoked. */
  cannotInvoke: 126,
  /** The container's command was not found. */
  commandNotFound: 127,
  /** Interrupted with Ctrl-C. */
  interrupted: 130,
  /** Killed with SIGKILL, e.g. out of memory. */
  killed: 137,
} as const;

/** The fields of a CspecError the CLI shows. */
export interface EngineErrorLike {
  readonly code: string;
  readonly message: string;
  readonly hint?: string | undefined;
}

/**
 * Recognizes a CspecError by the runtime's cross-realm brand, without
 * loading the runtime on the error path (it may be what failed to load).
 */
export function asEngineError(value: unknown): EngineErrorLike | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (!(Symbol.for('dev.cspec.error') in value)) return undefined;
  return value as EngineErrorLike;
}

export function exitCodeFor(error: unknown): number {
  if (isUsageError(error)) return EXIT.usage;
  const engineError = asEngineError(error);
  if (engineError?.code === 'CSPEC_COMMAND_NOT_FOUND') return EXIT.commandNotFound;
  // The runtime reports a command it found but could not execute as a start failure.
  if (
    engineError?.code === 'CSPEC_CONTAINER_START_FAILED' &&
    /exec[^:]*: .*permission denied/i.test(engineError.message)
  ) {
    return EXIT.cannotInvoke;
  }
  if (engineError) return EXIT.engine;
  return EXIT.crash;
}

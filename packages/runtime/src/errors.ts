/**
 * One error class for everything the runtime reports, with a stable code.
 * Messages say what failed, why, and what to do; `cause` is set when wrapping.
 */
export type CspecErrorCode =
  | 'CSPEC_INVALID_SPEC'
  | 'CSPEC_INVALID_REFERENCE'
  | 'CSPEC_IMAGE_NOT_FOUND'
  | 'CSPEC_IMAGE_BUILD_FAILED'
  | 'CSPEC_IMAGE_TOO_MANY_LAYERS'
  | 'CSPEC_INVALID_ARCHIVE'
  | 'CSPEC_IMAGE_CORRUPT'
  | 'CSPEC_NO_SPACE'
  | 'CSPEC_REGISTRY_UNREACHABLE'
  | 'CSPEC_REGISTRY_UNAUTHORIZED'
  | 'CSPEC_REGISTRY_FAILED'
  | 'CSPEC_HOST_UNSUPPORTED'
  | 'CSPEC_ID_NOT_MAPPED'
  | 'CSPEC_UNSAFE_HOST_DIR'
  | 'CSPEC_CONTAINER_NOT_FOUND'
  | 'CSPEC_CONTAINER_START_FAILED'
  | 'CSPEC_CONTAINER_NOT_READY'
  | 'CSPEC_COMMAND_NOT_FOUND'
  | 'CSPEC_NETWORK_NOT_FOUND'
  | 'CSPEC_NETWORK_FAILED'
  | 'CSPEC_NAME_IN_USE'
  | 'CSPEC_PREPARE_FAILED'
  | 'CSPEC_ABORTED'
  | 'CSPEC_SESSION_ENDED'
  | 'CSPEC_INTERNAL';

const brand = Symbol.for('dev.cspec.error');

export interface CspecErrorOptions {
  readonly cause?: unknown;
  /** A command or next step that fixes the problem. */
  readonly hint?: string;
}

export class CspecError extends Error {
  readonly code: CspecErrorCode;
  readonly hint: string | undefined;
  readonly [brand] = true;

  constructor(code: CspecErrorCode, message: string, options: CspecErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CspecError';
    this.code = code;
    this.hint = options.hint;
  }
}

/** Cross-realm guard: works for errors created by another copy of this package. */
export function isCspecError(value: unknown, code?: CspecErrorCode): value is CspecError {
  if (typeof value !== 'object' || value === null) return false;
  if (!(brand in value)) return false;
  return code === undefined || (value as CspecError).code === code;
}

/** A container that failed to start or become ready; carries the tail of its log. */
export class ContainerStartError extends CspecError {
  readonly containerId: string;
  readonly logTail: string;
  readonly exitCode: number | undefined;

  constructor(
    code: CspecErrorCode,
    message: string,
    details: { containerId: string; logTail: string; exitCode?: number | undefined },
    options: CspecErrorOptions = {},
  ) {
    const tail = details.logTail.trim();
    super(code, tail ? `${message}\n--- last log lines ---\n${tail}` : message, options);
    this.name = 'ContainerStartError';
    this.containerId = details.containerId;
    this.logTail = details.logTail;
    this.exitCode = details.exitCode;
  }
}

export function abortError(signal: AbortSignal, what: string): CspecError {
  return new CspecError('CSPEC_ABORTED', `${what} was aborted`, { cause: signal.reason });
}

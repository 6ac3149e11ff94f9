/**
 * A mistake on the command line (unknown flag, missing argument, bad value).
 * Kept apart from engine errors and crashes: it exits 2 and points at `--help`.
 */
export class UsageError extends Error {
  /** The command whose help explains the fix, e.g. `run` or `network create`. */
  readonly command: string | undefined;

  constructor(message: string, command?: string) {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }
}

export function isUsageError(value: unknown): value is UsageError {
  return value instanceof UsageError;
}

/**
 * Where `withContainer` leaves the log tail of a container whose callback
 * failed, before removing it — for a test framework to show next to the
 * failure (the Vitest plugin does). Nothing is kept unless a framework has
 * installed the sink: a global array, so that every copy of the runtime in a
 * process finds the same one.
 */
export interface FailureLog {
  readonly name: string;
  readonly image: string;
  readonly tail: string;
}

const SINK = Symbol.for('dev.cspec.failure-logs');

type Slot = { [SINK]?: FailureLog[] };

/** Installs the sink (idempotent) and returns it. */
export function failureLogSink(): FailureLog[] {
  const slot = globalThis as Slot;
  slot[SINK] ??= [];
  return slot[SINK];
}

export function failureLogSinkInstalled(): boolean {
  return (globalThis as Slot)[SINK] !== undefined;
}

export function recordFailureLog(log: FailureLog): void {
  (globalThis as Slot)[SINK]?.push(log);
}

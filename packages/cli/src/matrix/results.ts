/**
 * What the reporter inside a run writes (one JSON object per line), and the
 * tally the CLI keeps of it per distribution.
 */

export interface ReportedError {
  readonly message: string;
  readonly stack: string;
  /** Line in the test file, when the stack goes through it. */
  readonly line?: number;
}

export type TestState = 'passed' | 'failed' | 'skipped' | 'pending';

export type ProgressEvent =
  | { readonly type: 'start' }
  | {
      readonly type: 'test';
      /** Relative to the project root, e.g. `test/users.test.ts`. */
      readonly file: string;
      /** Suite names and the test's name, joined with ` > `. */
      readonly name: string;
      readonly state: TestState;
      readonly durationMs: number;
      readonly errors: readonly ReportedError[];
    }
  | { readonly type: 'module-error'; readonly file: string; readonly errors: readonly ReportedError[] }
  | { readonly type: 'end'; readonly reason: string; readonly errors: readonly ReportedError[] };

/** One failed test, or an error outside any test (a file that did not load, a hook, an unhandled error). */
export interface Failure {
  readonly file: string | undefined;
  readonly name: string;
  readonly errors: readonly ReportedError[];
}

export interface TestRecord {
  readonly file: string;
  readonly name: string;
  readonly state: TestState;
  readonly durationMs: number;
  readonly errors: readonly ReportedError[];
}

export interface Tally {
  passed: number;
  failed: number;
  skipped: number;
  readonly tests: TestRecord[];
  readonly failures: Failure[];
  /** Set once the reporter saw the run end. */
  ended: boolean;
}

export function emptyTally(): Tally {
  return { passed: 0, failed: 0, skipped: 0, tests: [], failures: [], ended: false };
}

/** Parses one line; anything that is not an event (a torn or foreign line) is ignored. */
export function parseEvent(line: string): ProgressEvent | undefined {
  if (!line.trim()) return undefined;
  try {
    const value = JSON.parse(line) as { type?: unknown };
    if (typeof value !== 'object' || value === null) return undefined;
    if (!['start', 'test', 'module-error', 'end'].includes(value.type as string)) return undefined;
    return value as ProgressEvent;
  } catch {
    return undefined;
  }
}

export function addEvent(tally: Tally, event: ProgressEvent): void {
  switch (event.type) {
    case 'start':
      return;
    case 'test': {
      const { file, name, state, durationMs, errors } = event;
      tally.tests.push({ file, name, state, durationMs, errors });
      if (state === 'passed') tally.passed++;
      else if (state === 'failed') {
        tally.failed++;
        tally.failures.push({ file, name, errors });
      } else if (state === 'skipped') tally.skipped++;
      return;
    }
    case 'module-error':
      tally.failures.push({ file: event.file, name: '(errors outside tests)', errors: event.errors });
      return;
    case 'end':
      tally.ended = true;
      if (event.errors.length)
        tally.failures.push({ file: undefined, name: '(unhandled errors)', errors: event.errors });
      return;
  }
}

/**
 * Splits a growing text into its complete lines and what is left of an
 * unfinished last line.
 */
export function takeLines(buffer: string): { lines: string[]; rest: string } {
  const end = buffer.lastIndexOf('\n');
  if (end === -1) return { lines: [], rest: buffer };
  return { lines: buffer.slice(0, end).split('\n'), rest: buffer.slice(end + 1) };
}

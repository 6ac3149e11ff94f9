/**
 * The Vitest reporter `cspec test` adds to the run, inside a container or on
 * the host: one JSON line per finished test (and per module or run error) is
 * appended to the file named by CSPEC_PROGRESS_FILE, which the CLI reads as
 * the run goes. Self-contained on purpose: it is mounted alone into the
 * container, so it imports nothing but Node's own modules (and no Vitest
 * types: the shapes it reads are declared here).
 */
import { appendFileSync } from 'node:fs';

interface ErrorLike {
  readonly message?: string;
  readonly stack?: string;
  readonly name?: string;
  readonly stacks?: readonly { readonly file: string; readonly line: number; readonly column: number }[];
}

interface ModuleLike {
  readonly moduleId: string;
  readonly relativeModuleId: string;
  errors(): readonly ErrorLike[];
}

interface TestCaseLike {
  readonly fullName: string;
  readonly module: ModuleLike;
  result(): { readonly state: string; readonly errors?: readonly ErrorLike[] | undefined };
  diagnostic(): { readonly duration: number } | undefined;
}

function errorOf(error: ErrorLike, moduleId: string | undefined) {
  const frame = moduleId ? error.stacks?.find((s) => s.file === moduleId) : undefined;
  return {
    message: `${error.name && error.name !== 'Error' ? `${error.name}: ` : ''}${error.message ?? String(error)}`,
    stack: error.stack ?? '',
    ...(frame ? { line: frame.line } : {}),
  };
}

export default class CspecProgressReporter {
  readonly #file = process.env.CSPEC_PROGRESS_FILE;

  #write(event: Record<string, unknown>): void {
    if (this.#file) appendFileSync(this.#file, `${JSON.stringify(event)}\n`);
  }

  onTestRunStart(): void {
    this.#write({ type: 'start' });
  }

  onTestCaseResult(test: TestCaseLike): void {
    const result = test.result();
    this.#write({
      type: 'test',
      file: test.module.relativeModuleId,
      name: test.fullName,
      state: result.state,
      durationMs: Math.round(test.diagnostic()?.duration ?? 0),
      errors: (result.errors ?? []).map((e) => errorOf(e, test.module.moduleId)),
    });
  }

  onTestModuleEnd(module: ModuleLike): void {
    const errors = module.errors();
    if (errors.length === 0) return;
    this.#write({
      type: 'module-error',
      file: module.relativeModuleId,
      errors: errors.map((e) => errorOf(e, module.moduleId)),
    });
  }

  onTestRunEnd(_modules: unknown, unhandledErrors: readonly ErrorLike[], reason: string): void {
    this.#write({ type: 'end', reason, errors: unhandledErrors.map((e) => errorOf(e, undefined)) });
  }
}

/**
 * The merged JUnit report of a `cspec test` run: one <testsuite> per
 * distribution and test file, named `[debian:bookworm] test/users.test.ts`,
 * failures with their messages and stacks. (Each distribution's own report
 * is Vitest's JUnit reporter's, written beside it.)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import junitModule, { type Builder } from 'junit-report-builder';
import type { SuiteResult } from './run-suite.js';

// Its types describe an ES default export; Node gives ES modules the CommonJS exports object itself.
const junit: Builder = junitModule.default ?? (junitModule as unknown as Builder);

function seconds(ms: number): number {
  return Math.round(ms) / 1000;
}

export function buildMergedJunit(results: readonly SuiteResult[]): string {
  const report = junit.newBuilder().name('cspec test');
  for (const result of results) {
    const byFile = new Map<string, ReturnType<typeof report.testSuite>>();
    const suiteFor = (file: string) => {
      let suite = byFile.get(file);
      if (!suite) {
        suite = report.testSuite().name(`[${result.name}] ${file}`).property('distribution', result.name);
        byFile.set(file, suite);
      }
      return suite;
    };
    for (const test of result.tally.tests) {
      const tc = suiteFor(test.file)
        .testCase()
        .className(`${result.name}.${test.file}`)
        .name(test.name)
        .time(seconds(test.durationMs));
      if (test.state === 'skipped' || test.state === 'pending') tc.skipped();
      if (test.state === 'failed') {
        const first = test.errors[0];
        tc.failure(first?.message ?? 'failed', 'AssertionError');
        tc.stacktrace(test.errors.map((e) => e.stack || e.message).join('\n\n'));
      }
    }
    // Errors outside tests (a file that did not load, a failed hook, unhandled errors).
    for (const failure of result.tally.failures) {
      if (result.tally.tests.some((t) => t.file === failure.file && t.name === failure.name)) continue;
      suiteFor(failure.file ?? '(run)')
        .testCase()
        .className(`${result.name}.${failure.file ?? '(run)'}`)
        .name(failure.name)
        .error(
          failure.errors[0]?.message ?? 'error',
          'Error',
          failure.errors.map((e) => e.stack || e.message).join('\n\n'),
        );
    }
    if (result.error !== undefined) {
      suiteFor('(run)')
        .testCase()
        .className(`${result.name}.(run)`)
        .name(`the suite on ${result.name}`)
        .time(seconds(result.durationMs))
        .error(result.error.split('\n')[0] ?? result.error, 'CspecRunError', result.error);
    }
  }
  return report.build();
}

export function writeMergedJunit(path: string, results: readonly SuiteResult[]): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, buildMergedJunit(results));
}

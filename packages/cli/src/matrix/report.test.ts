import { describe, expect, it } from 'vitest';
import { annotations, stepSummary } from './github.js';
import { buildMergedJunit } from './junit.js';
import { createProgressView } from './progress-view.js';
import { addEvent, emptyTally, type Tally } from './results.js';
import type { SuiteResult } from './run-suite.js';

function tallyOf(failMessage?: string): Tally {
  const tally = emptyTally();
  addEvent(tally, {
    type: 'test',
    file: 'test/a.test.ts',
    name: 'a > works',
    state: 'passed',
    durationMs: 12,
    errors: [],
  });
  addEvent(tally, {
    type: 'test',
    file: 'test/a.test.ts',
    name: 'a > later',
    state: 'skipped',
    durationMs: 0,
    errors: [],
  });
  if (failMessage) {
    addEvent(tally, {
      type: 'test',
      file: 'test/a.test.ts',
      name: 'a > breaks',
      state: 'failed',
      durationMs: 3,
      errors: [{ message: failMessage, stack: `${failMessage}\n    at test/a.test.ts:7:5`, line: 7 }],
    });
  }
  return tally;
}

function result(name: string, failMessage?: string, error?: string): SuiteResult {
  const tally = tallyOf(failMessage);
  return {
    name,
    passed: !failMessage && !error,
    tally,
    durationMs: 1500,
    exitCode: failMessage || error ? 1 : 0,
    error,
    junitFile: `/r/junit-${name}.xml`,
    logFile: undefined,
  };
}

const results = [
  result('debian:bullseye', 'AssertionError: expected 11 to be 12'),
  result('debian:bookworm'),
  result('debian:trixie', undefined, 'image cspec/debian:trixie could not be built'),
];

describe('merged JUnit report', () => {
  it('names each suite with its distribution and keeps failure messages and stacks', () => {
    const xml = buildMergedJunit(results);
    expect(xml).toContain('<testsuite name="[debian:bullseye] test/a.test.ts" tests="3" failures="1"');
    expect(xml).toContain('<testsuite name="[debian:bookworm] test/a.test.ts" tests="2" failures="0"');
    expect(xml).toContain('<failure message="AssertionError: expected 11 to be 12" type="AssertionError">');
    expect(xml).toContain('at test/a.test.ts:7:5');
    expect(xml).toMatch(/<testsuite name="\[debian:trixie\] \(run\)"[^>]*errors="1"/);
    expect(xml).toContain('image cspec/debian:trixie could not be built');
  });
});

describe('GitHub Actions', () => {
  it('annotates failures on their file and line, with the distribution in the title', () => {
    expect(annotations(results, '/repo/app', '/repo')).toEqual([
      '::error file=app/test/a.test.ts,line=7,title=debian%3Abullseye%3A a > breaks::AssertionError: expected 11 to be 12',
      '::error title=debian%3Atrixie%3A the suite did not run::image cspec/debian:trixie could not be built',
    ]);
  });

  it('writes a summary table and the failures', () => {
    const summary = stepSummary(results);
    expect(summary).toContain('| ❌ | debian:bullseye | 1 | 1 | 1 | 1.5s |');
    expect(summary).toContain('| ✅ | debian:bookworm | 1 | 0 | 1 | 1.5s |');
    expect(summary).toContain(
      '- **debian:bullseye** test/a.test.ts > a > breaks: AssertionError: expected 11 to be 12',
    );
  });
});

describe('progress view', () => {
  it('prints timestamped lines without a terminal: phases, failures, the end', () => {
    const written: string[] = [];
    let now = Date.parse('2025-01-01T10:00:00Z');
    const view = createProgressView(['debian:bullseye'], {
      write: (t) => written.push(t),
      interactive: false,
      color: false,
      now: () => now,
    });
    view.phase('debian:bullseye', 'preparing image');
    view.phase('debian:bullseye', 'running');
    view.progress('debian:bullseye', tallyOf('boom'));
    now += 2500;
    view.finished('debian:bullseye', false);
    view.close();
    expect(written.join('')).toBe(
      [
        '[10:00:00] debian:bullseye: preparing image',
        '[10:00:00] debian:bullseye: running',
        '[10:00:00] debian:bullseye: ✖ test/a.test.ts > a > breaks: boom',
        '[10:00:02] debian:bullseye: ✖ failed — 1 passed, 1 failed, 1 skipped in 2.5s',
        '',
      ].join('\n'),
    );
  });

  it('on a terminal, redraws one line per distribution in place', () => {
    const written: string[] = [];
    const view = createProgressView(['a', 'bb'], {
      write: (t) => written.push(t),
      interactive: true,
      color: false,
    });
    view.phase('a', 'running');
    view.progress('a', tallyOf());
    view.finished('a', true);
    view.close();
    const last = written.at(-1) ?? '';
    expect(last.startsWith('\u001b[2A')).toBe(true);
    expect(last).toMatch(/✔ a {3}\s+\d+\.\ds {2}1 passed, 0 failed, 1 skipped\n/);
    expect(last).toMatch(/\u001b\[2K. bb\s+queued\n$/);
  });
});

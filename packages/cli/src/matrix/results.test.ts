import { describe, expect, it } from 'vitest';
import { addEvent, emptyTally, parseEvent, takeLines } from './results.js';

describe('progress events', () => {
  it('parses event lines and ignores anything else', () => {
    expect(parseEvent('{"type":"start"}')).toEqual({ type: 'start' });
    expect(parseEvent('')).toBeUndefined();
    expect(parseEvent('{"type":"tes')).toBeUndefined();
    expect(parseEvent('{"type":"other"}')).toBeUndefined();
    expect(parseEvent('42')).toBeUndefined();
  });

  it('tallies tests, and counts errors outside tests as failures', () => {
    const tally = emptyTally();
    const test = (name: string, state: 'passed' | 'failed' | 'skipped') =>
      addEvent(tally, {
        type: 'test',
        file: 'a.test.ts',
        name,
        state,
        durationMs: 5,
        errors: state === 'failed' ? [{ message: 'boom', stack: 'at x' }] : [],
      });
    test('one', 'passed');
    test('two', 'failed');
    test('three', 'skipped');
    addEvent(tally, {
      type: 'module-error',
      file: 'b.test.ts',
      errors: [{ message: 'no import', stack: '' }],
    });
    addEvent(tally, { type: 'end', reason: 'failed', errors: [] });
    expect([tally.passed, tally.failed, tally.skipped, tally.ended]).toEqual([1, 1, 1, true]);
    expect(tally.failures.map((f) => [f.file, f.name])).toEqual([
      ['a.test.ts', 'two'],
      ['b.test.ts', '(errors outside tests)'],
    ]);
    addEvent(tally, { type: 'end', reason: 'failed', errors: [{ message: 'unhandled', stack: '' }] });
    expect(tally.failures.at(-1)?.name).toBe('(unhandled errors)');
  });

  it('splits complete lines from an unfinished one', () => {
    expect(takeLines('a\nb\nc')).toEqual({ lines: ['a', 'b'], rest: 'c' });
    expect(takeLines('a\n')).toEqual({ lines: ['a'], rest: '' });
    expect(takeLines('partial')).toEqual({ lines: [], rest: 'partial' });
  });
});

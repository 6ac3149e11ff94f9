import { describe, expect, it } from 'vitest';
import { asEngineError, exitCodeFor } from './exit-codes.js';
import { UsageError } from './usage-error.js';

/** Shaped like the runtime's CspecError, carrying its cross-realm brand. */
function engineError(code: string, message = 'boom') {
  return Object.assign(new Error(message), { code, hint: 'do x', [Symbol.for('dev.cspec.error')]: true });
}

describe('exitCodeFor', () => {
  it('maps usage errors to 2, engine errors to 125, command not found to 127 and crashes to 70', () => {
    expect(exitCodeFor(new UsageError('bad'))).toBe(2);
    expect(exitCodeFor(engineError('CSPEC_IMAGE_NOT_FOUND'))).toBe(125);
    expect(exitCodeFor(engineError('CSPEC_COMMAND_NOT_FOUND'))).toBe(127);
    expect(exitCodeFor(new TypeError('oops'))).toBe(70);
    const denied = 'the container could not start: exec: "/etc/passwd": permission denied';
    expect(exitCodeFor(engineError('CSPEC_CONTAINER_START_FAILED', denied))).toBe(126);
    expect(exitCodeFor(engineError('CSPEC_CONTAINER_START_FAILED', 'cgroup: permission denied'))).toBe(125);
    expect(exitCodeFor('a string')).toBe(70);
  });

  it('recognizes engine errors by their brand only', () => {
    expect(asEngineError(engineError('CSPEC_INTERNAL'))?.hint).toBe('do x');
    expect(asEngineError(Object.assign(new Error('x'), { code: 'CSPEC_INTERNAL' }))).toBeUndefined();
    expect(asEngineError(null)).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { isUsageError } from '../usage-error.js';
import { resolveTarget, resolveTargets, slugOf } from './targets.js';

function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(isUsageError(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected a usage error');
}

describe('targets', () => {
  it('maps debian:<suite> (and its version number) to the cached cspec/debian image', () => {
    expect(resolveTarget('debian:bookworm')).toEqual({
      name: 'debian:bookworm',
      image: 'cspec/debian:bookworm',
      slug: 'debian-bookworm',
    });
    expect(resolveTarget('debian:11').image).toBe('cspec/debian:bullseye');
    expect(resolveTarget('my/image:1').image).toBe('my/image:1');
  });

  it('splits comma-separated lists and refuses duplicates and unknown names', () => {
    expect(resolveTargets(['debian:bullseye,debian:bookworm', 'debian:trixie']).map((t) => t.image)).toEqual([
      'cspec/debian:bullseye',
      'cspec/debian:bookworm',
      'cspec/debian:trixie',
    ]);
    expect(usageMessage(() => resolveTargets(['debian:12,debian:bookworm']))).toMatch(/listed twice/);
    expect(usageMessage(() => resolveTarget('debian:sid'))).toMatch(
      /unknown distribution "debian:sid" — cspec test runs on debian:bullseye, debian:bookworm, debian:trixie/,
    );
    expect(usageMessage(() => resolveTarget('ubuntu'))).toMatch(/unknown distribution "ubuntu"/);
  });

  it('makes file-name slugs', () => {
    expect(slugOf('cspec/debian:bookworm')).toBe('cspec-debian-bookworm');
  });
});

import { describe, expect, it } from 'vitest';
import { isCspecError } from '../errors.js';
import type { ContainerSpec } from './spec.js';
import { validateSpec } from './validate-spec.js';

function rejects(spec: ContainerSpec, message: RegExp) {
  let error: unknown;
  try {
    validateSpec(spec);
  } catch (e) {
    error = e;
  }
  expect(isCspecError(error, 'CSPEC_INVALID_SPEC'), String(error)).toBe(true);
  expect((error as Error).message).toMatch(message);
}

describe('validateSpec', () => {
  it('fills defaults', () => {
    const spec = validateSpec({
      image: 'cspec/debian:bookworm',
      ports: [5432, { container: 80, host: 8080 }],
    });
    expect(spec.ports).toEqual([
      { container: 5432, host: 0 },
      { container: 80, host: 8080 },
    ]);
    expect(spec.startupTimeoutMs).toBe(60_000);
    expect(spec.writableLayer).toBe('tmpfs');
    // No default here: the image's STOPSIGNAL applies first, then SIGTERM.
    expect(spec.stopSignal).toBeUndefined();
  });
  it('rejects waiting for listening ports when there is no port to check', () => {
    rejects({ image: 'x', wait: { type: 'ports' } }, /needs ports to check/);
    rejects(
      { image: 'x', wait: { type: 'all', of: [{ type: 'ports', ports: [] }] } },
      /needs ports to check/,
    );
    expect(validateSpec({ image: 'x', wait: { type: 'ports', ports: [80] } }).wait).toBeDefined();
    expect(validateSpec({ image: 'x', ports: [80], wait: { type: 'ports' } }).wait).toBeDefined();
  });
  it('rejects ports out of range', () => {
    rejects({ image: 'x', ports: [70000] }, /port 70000 is out of range/);
    rejects({ image: 'x', ports: [0] }, /port 0 is out of range/);
    rejects({ image: 'x', ports: [{ container: 80, host: 65536 }] }, /host port 65536/);
    rejects({ image: 'x', ports: [80, 80] }, /published twice/);
  });
  it('rejects a memory limit below what the runtime can honour', () => {
    rejects({ image: 'x', resources: { memoryBytes: 1024 } }, /below the minimum of 6 MiB/);
  });
  it('rejects relative paths and ambiguous files', () => {
    rejects(
      { image: 'x', mounts: [{ type: 'bind', source: 'rel', target: '/x' }] },
      /must be an absolute path/,
    );
    rejects({ image: 'x', files: [{ target: '/a', content: 'x', source: '/b' }] }, /exactly one of/);
  });
  it('checks overlay mounts: absolute paths, and a source overlayfs can take', () => {
    rejects(
      { image: 'x', mounts: [{ type: 'overlay', source: 'project', target: '/p' }] },
      /overlay mount source "project" must be an absolute path/,
    );
    rejects(
      { image: 'x', mounts: [{ type: 'overlay', source: '/p', target: 'p' }] },
      /mount target "p" must be an absolute path/,
    );
    rejects(
      { image: 'x', mounts: [{ type: 'overlay', source: '/a:b', target: '/p' }] },
      /contains ":" or ","/,
    );
    rejects(
      { image: 'x', mounts: [{ type: 'overlay', source: '/a,upperdir=/x', target: '/p' }] },
      /contains ":" or ","/,
    );
    const mount = { type: 'overlay', source: '/home/me/p', target: '/home/me/p' } as const;
    expect(validateSpec({ image: 'x', mounts: [mount] }).mounts).toEqual([mount]);
  });
  it('rejects unknown mount types', () => {
    rejects(
      { image: 'x', mounts: [{ type: 'volume', target: '/v' }] as unknown as ContainerSpec['mounts'] },
      /unknown mount type "volume"/,
    );
  });
  it('rejects invalid wait strategies', () => {
    rejects({ image: 'x', wait: { type: 'log', pattern: '(' } }, /not a valid regular expression/);
    rejects({ image: 'x', wait: { type: 'http', port: 80 } }, /needs that port published/);
  });
  it('rejects invalid names and limits', () => {
    rejects({ image: 'x', name: '-bad' }, /container name "-bad" is invalid/);
    rejects({ image: 'x', resources: { cpus: 0 } }, /cpus must be a positive number/);
    rejects({ image: 'x', resources: { pids: 1.5 } }, /pids limit/);
    rejects({ image: ' ' }, /image is required/);
  });
});

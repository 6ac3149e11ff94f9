import { describe, expect, it } from 'vitest';
import { Wait } from './wait.js';

describe('Wait', () => {
  it('forListeningPorts waits for every published port', () => {
    expect(Wait.forListeningPorts().toSpec()).toEqual({ type: 'ports' });
  });

  it('forLogMessage escapes a string so it matches literally', () => {
    const spec = Wait.forLogMessage('ready (v1.2) [ok]').toSpec();
    expect(spec).toEqual({ type: 'log', pattern: 'ready \\(v1\\.2\\) \\[ok\\]', times: 1 });
    if (spec.type !== 'log') throw new Error('expected a log spec');
    const re = new RegExp(spec.pattern);
    expect(re.test('x ready (v1.2) [ok] y')).toBe(true);
    expect(re.test('ready (v1x2) [ok]')).toBe(false);
  });

  it('forLogMessage serializes a RegExp as source and flags, with a count', () => {
    expect(Wait.forLogMessage(/ready to accept connections/i, 2).toSpec()).toEqual({
      type: 'log',
      pattern: 'ready to accept connections',
      flags: 'i',
      times: 2,
    });
    // `g` and `y` mean nothing for counting matches; the engine adds `g` itself.
    expect(Wait.forLogMessage(/a+b/gy).toSpec()).toEqual({ type: 'log', pattern: 'a+b', times: 1 });
  });

  it("forHealthCheck waits for the image's HEALTHCHECK, or runs the given command", () => {
    expect(Wait.forHealthCheck().toSpec()).toEqual({ type: 'healthcheck' });
    expect(Wait.forHealthCheck(['pg_isready', '-U', 'postgres']).toSpec()).toEqual({
      type: 'command',
      command: ['pg_isready', '-U', 'postgres'],
    });
    expect(Wait.forHealthCheck('redis-cli ping | grep PONG').toSpec()).toEqual({
      type: 'command',
      command: ['/bin/sh', '-c', 'redis-cli ping | grep PONG'],
    });
  });

  it('forHttp chains status codes and the method', () => {
    expect(Wait.forHttp('/health', 8080).toSpec()).toEqual({ type: 'http', port: 8080, path: '/health' });
    expect(Wait.forHttp('/', 80).forStatusCode(200).forStatusCode(204).withMethod('head').toSpec()).toEqual({
      type: 'http',
      port: 80,
      path: '/',
      status: [200, 204],
      method: 'HEAD',
    });
    expect(() => Wait.forHttp('/', 80).forStatusCode(42)).toThrow(/100-599/);
  });

  it('forSuccessfulCommand runs through /bin/sh -c', () => {
    expect(Wait.forSuccessfulCommand('test -f /ready').toSpec()).toEqual({
      type: 'command',
      command: ['/bin/sh', '-c', 'test -f /ready'],
    });
  });

  it('forOneShotStartup waits for a clean exit', () => {
    expect(Wait.forOneShotStartup().toSpec()).toEqual({ type: 'exit' });
  });

  it('forAll nests the specs of its strategies', () => {
    const all = Wait.forAll([Wait.forListeningPorts(), Wait.forLogMessage('up')]);
    expect(all.toSpec()).toEqual({
      type: 'all',
      of: [{ type: 'ports' }, { type: 'log', pattern: 'up', times: 1 }],
    });
  });

  it('withStartupTimeout sets the deadline and validates it', () => {
    expect(Wait.forListeningPorts().startupTimeoutMs).toBeUndefined();
    const w = Wait.forLogMessage('x').withStartupTimeout(5000);
    expect(w.startupTimeoutMs).toBe(5000);
    expect(w.toSpec()).toEqual({ type: 'log', pattern: 'x', times: 1 });
    expect(Wait.forHttp('/', 1).withStartupTimeout(7).forStatusCode(200).startupTimeoutMs).toBe(7);
    expect(() => Wait.forListeningPorts().withStartupTimeout(0)).toThrow(/positive/);
    expect(() => Wait.forListeningPorts().withStartupTimeout(Number.NaN)).toThrow(/positive/);
  });

  it('forAll takes its own timeout, else the longest inner one', () => {
    const a = Wait.forListeningPorts().withStartupTimeout(1000);
    const b = Wait.forLogMessage('x');
    const all = Wait.forAll([a, b]);
    expect(all.startupTimeoutMs).toBe(1000);
    b.withStartupTimeout(3000);
    expect(all.startupTimeoutMs).toBe(3000);
    all.withStartupTimeout(500);
    expect(all.startupTimeoutMs).toBe(500);
    expect(Wait.forAll([Wait.forOneShotStartup()]).startupTimeoutMs).toBeUndefined();
  });

  it('produces specs that survive JSON (they cross process boundaries)', () => {
    const spec = Wait.forAll([
      Wait.forLogMessage(/a\d+/m, 3),
      Wait.forHttp('/x', 81).forStatusCode(301),
    ]).toSpec();
    expect(JSON.parse(JSON.stringify(spec))).toEqual(spec);
  });
});

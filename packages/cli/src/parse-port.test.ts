import { describe, expect, it } from 'vitest';
import { parsePortMapping } from './parse-port.js';
import { UsageError } from './usage-error.js';

describe('parsePortMapping', () => {
  it.each([
    ['5432', { container: 5432, host: 0 }],
    ['8080:80', { container: 80, host: 8080 }],
    [':80', { container: 80, host: 0 }],
    ['127.0.0.1:8080:80', { container: 80, host: 8080 }],
    ['127.0.0.1::80', { container: 80, host: 0 }],
    ['localhost:9000:90', { container: 90, host: 9000 }],
    ['80/tcp', { container: 80, host: 0 }],
    ['8080:80/TCP', { container: 80, host: 8080 }],
    ['65535', { container: 65535, host: 0 }],
  ])('%s', (text, expected) => {
    expect(parsePortMapping(text)).toEqual(expected);
  });

  it('rejects out-of-range ports with the valid range in the message', () => {
    expect(() => parsePortMapping('70000')).toThrow(
      'invalid container port "70000" in -p 70000 — ports are whole numbers from 1 to 65535',
    );
    expect(() => parsePortMapping('70000:80')).toThrow('invalid host port "70000" in -p 70000:80');
    expect(() => parsePortMapping('0')).toThrow(UsageError);
    expect(() => parsePortMapping('8080:0')).toThrow(UsageError);
  });

  it.each(['', 'abc', '80-90', '1:2:3:4', '8080:', '1.5', '-1'])('rejects %j', (text) => {
    expect(() => parsePortMapping(text)).toThrow(UsageError);
  });

  it('rejects udp and addresses other than loopback', () => {
    expect(() => parsePortMapping('53/udp')).toThrow('only tcp ports can be published');
    expect(() => parsePortMapping('0.0.0.0:8080:80')).toThrow('ports are published on 127.0.0.1 only');
  });
});

import { describe, expect, it } from 'vitest';
import { isCspecError } from '../errors.js';
import { headersAfterRedirect, isRedirect, redirectTarget } from './redirect-policy.js';

describe('redirect policy', () => {
  const headers = { Authorization: 'Bearer secret', accept: 'application/json', range: 'bytes=10-' };

  it('keeps Authorization only for the same origin', () => {
    expect(headersAfterRedirect(headers, 'https://r.example', new URL('https://r.example/v2/x'))).toEqual(
      headers,
    );
    for (const other of ['https://s3.example/blob', 'http://r.example/x', 'https://r.example:444/x']) {
      expect(headersAfterRedirect(headers, 'https://r.example', new URL(other))).toEqual({
        accept: 'application/json',
        range: 'bytes=10-',
      });
    }
    // 127.0.0.1 and localhost are different hosts to the policy.
    expect(
      headersAfterRedirect(headers, 'http://127.0.0.1:5000', new URL('http://localhost:5000/x'))
        .Authorization,
    ).toBeUndefined();
  });

  it('resolves relative locations and refuses a downgrade to plain HTTP', () => {
    const never = () => false;
    expect(redirectTarget(new URL('https://r.example/v2/a'), '/b?x=1', never).href).toBe(
      'https://r.example/b?x=1',
    );
    let error: unknown;
    try {
      redirectTarget(new URL('https://r.example/v2/a'), 'http://cdn.example/b', never);
    } catch (e) {
      error = e;
    }
    expect(isCspecError(error, 'CSPEC_REGISTRY_FAILED')).toBe(true);
    expect(() => redirectTarget(new URL('https://r.example/'), 'file:///etc/passwd', () => true)).toThrow(
      /scheme/,
    );
    expect(() => redirectTarget(new URL('https://r.example/'), null, () => true)).toThrow(/Location/);
    expect(redirectTarget(new URL('http://127.0.0.1:1/'), 'http://localhost:2/', () => true).port).toBe('2');
  });

  it('knows the redirect statuses', () => {
    expect([301, 302, 303, 307, 308].every(isRedirect)).toBe(true);
    expect([200, 304, 401].some(isRedirect)).toBe(false);
  });
});

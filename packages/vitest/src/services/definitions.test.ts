import { describe, expect, it } from 'vitest';
import { service } from './definitions.js';

describe('service()', () => {
  it('takes an image to build from a Dockerfile', () => {
    const definition = service({ image: 'my/api:dev', build: { context: './api' }, ports: [8080] });
    expect(definition).toEqual({
      kind: 'service',
      options: { image: 'my/api:dev', build: { context: './api' }, ports: [8080] },
    });
  });

  it('refuses a build without a context, and no image at all', () => {
    expect(() => service({ image: 'my/api:dev', build: { context: '' } })).toThrow(
      /`build.context` is required, e.g. build: \{ context: "\.\/api" \}/,
    );
    expect(() => service({} as never)).toThrow(/`image` is required/);
  });
});

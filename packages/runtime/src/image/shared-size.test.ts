import { describe, expect, it } from 'vitest';
import { sharedSizes } from './shared-size.js';

const layer = (digest: string, size: number) => ({ digest, size });

describe('sharedSizes', () => {
  it('counts the layers another image uses too, once each', () => {
    const base = layer('sha256:base', 100);
    const shared = sharedSizes([
      { id: 'sha256:pg', layers: [base, layer('sha256:pg', 300)] },
      { id: 'sha256:redis', layers: [base, layer('sha256:redis', 10)] },
      { id: 'sha256:alone', layers: [layer('sha256:alone', 7), layer('sha256:alone', 7)] },
    ]);
    expect(Object.fromEntries(shared)).toEqual({ 'sha256:pg': 100, 'sha256:redis': 100, 'sha256:alone': 0 });
  });

  it('does not count two tags of one image as sharing', () => {
    const image = { id: 'sha256:a', layers: [layer('sha256:l', 5)] };
    expect(sharedSizes([image, image]).get('sha256:a')).toBe(0);
  });
});

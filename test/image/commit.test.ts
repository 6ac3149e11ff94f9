/**
 * `diff` and `commit` on real containers: a container's changes (added,
 * changed and deleted files, a replaced directory, hard links) become a layer,
 * and containers started from the committed image see exactly them.
 */
import { isCspecError } from '@cspec/runtime';
import { describe, expect, it } from 'vitest';
import { IMAGE, useEngine } from '../support/engine.js';

const engine = useEngine();

const PREPARE = [
  'mkdir -p /opt/data && echo seeded > /opt/data/seed',
  'ln /opt/data/seed /opt/data/seed-link',
  'echo changed >> /etc/debian_version',
  'rm /etc/issue.net',
  'rm -rf /usr/share/doc/bash && mkdir /usr/share/doc/bash && echo replaced > /usr/share/doc/bash/only',
  'chmod 0700 /opt/data',
].join(' && ');

describe('diff and commit', () => {
  it('lists changes like docker diff and commits them into an image that runs', async () => {
    const prepared = await engine().run({ image: IMAGE, command: ['sh', '-c', PREPARE] });
    expect((await prepared.wait()).exitCode).toBe(0);
    const changes = (await prepared.diff()).map((c) => `${c.kind} ${c.path}`);
    expect(changes).toEqual(
      expect.arrayContaining([
        'A /opt/data',
        'A /opt/data/seed',
        'C /etc',
        'C /etc/debian_version',
        'D /etc/issue.net',
        'C /usr/share/doc/bash',
        'A /usr/share/doc/bash/only',
      ]),
    );

    const image = await prepared.commit('cspec-test/committed:1', {
      cmd: [
        'sh',
        '-c',
        'cat /opt/data/seed-link; tail -1 /etc/debian_version; ls /usr/share/doc/bash; test -e /etc/issue.net || echo no-issue; stat -c %a /opt/data',
      ],
      comment: 'seeded',
    });
    await prepared.remove();
    expect(image.references).toEqual(['docker.io/cspec-test/committed:1']);
    const resolved = await engine().images.resolve('cspec-test/committed:1');
    expect(resolved.id).toBe(image.id);
    expect(resolved.layerDirs).toHaveLength(2);

    // Many containers from the committed image, at once.
    const outputs = await Promise.all(
      [1, 2, 3].map(async () => {
        const c = await engine().run({ image: 'cspec-test/committed:1' });
        await c.wait();
        const text = await c.logText();
        await c.remove();
        return text;
      }),
    );
    expect(outputs).toEqual(Array(3).fill('seeded\nchanged\nonly\nno-issue\n700\n'));
    await engine().images.remove('cspec-test/committed:1');
  });

  it('refuses to commit a removed container, or one whose image is gone', async () => {
    const c = await engine().run({ image: IMAGE, command: ['true'] });
    await c.wait();
    await c.remove();
    const removed = await c.commit('cspec-test/never:1').catch((e: unknown) => e);
    expect(isCspecError(removed, 'CSPEC_CONTAINER_NOT_FOUND')).toBe(true);

    // A container of an image that is untagged meanwhile.
    const [layer] = (await engine().images.resolve(IMAGE)).layerDirs;
    expect(layer).toBeDefined();
    const base = await engine().run({ image: IMAGE, command: ['sh', '-c', 'echo x > /x'] });
    await base.wait();
    const first = await base.commit('cspec-test/parent:1');
    const child = await engine().run({ image: 'cspec-test/parent:1', command: ['true'] });
    await child.wait();
    await engine().images.remove('cspec-test/parent:1');
    const orphan = await child.commit('cspec-test/never:1').catch((e: unknown) => e);
    expect(isCspecError(orphan, 'CSPEC_IMAGE_NOT_FOUND')).toBe(true);
    expect(first.id).toMatch(/^sha256:/);
    await Promise.all([base.remove(), child.remove()]);
    expect((await engine().images.list()).some((i) => i.reference.includes('cspec-test/never'))).toBe(false);
  });
});

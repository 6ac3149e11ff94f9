/**
 * `cspec/node:<version>[-<release>]`: Debian plus the official Node binary
 * from npm, one layer on top of the Debian image it names.
 */
import { describe, expect, it } from 'vitest';
import { IMAGE, useEngine } from '../support/engine.js';

const engine = useEngine();

describe('cspec/node images', () => {
  it('runs the Node release its tag names, on top of the Debian image', async () => {
    const c = await engine().run({ image: 'cspec/node:22', command: ['node', '-p', 'process.version'] });
    try {
      expect((await c.wait()).exitCode).toBe(0);
      expect(await c.logText()).toMatch(/^v22\.\d+\.\d+\n$/);
    } finally {
      await c.remove();
    }
    const [node, debian] = await Promise.all([
      engine().images.inspect('cspec/node:22'),
      engine().images.inspect(IMAGE),
    ]);
    expect(node.layers.slice(0, -1)).toEqual(debian.layers);
    expect(node.runtimeConfig.Env).toContainEqual(expect.stringMatching(/^NODE_VERSION=22\.\d+\.\d+$/));
    expect(node.runtimeConfig.Cmd).toEqual(['node']);
    expect(node.history.at(-1)?.createdBy).toMatch(
      /^cspec\/debian:bookworm \+ node 22\.\d+\.\d+ \(npm package node-linux-/,
    );
  });

  it('refuses a tag that is not a Node version or names an unknown release', async () => {
    for (const tag of ['latest', '22-sid', 'lts']) {
      await expect(engine().images.resolve(`cspec/node:${tag}`)).rejects.toThrow(
        new RegExp(`no image cspec/node:${tag} — the tag is a Node version`),
      );
    }
  });
});

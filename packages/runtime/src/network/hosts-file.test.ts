import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { renderHostsFile, writeInPlace } from './hosts-file.js';

describe('hosts file', () => {
  test('without networks: localhost and the hostname on 127.0.1.1', () => {
    expect(renderHostsFile({ hostname: 'abc123', ipAddress: undefined, peers: [] })).toBe(
      '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\tabc123\n',
    );
  });

  test('lists every peer with name, hostname and aliases, in address order, without duplicates', () => {
    const text = renderHostsFile({
      hostname: 'web',
      ipAddress: '10.89.0.3',
      peers: [
        { ipAddress: '10.89.0.10', names: ['db', 'db-host', 'postgres', 'db'] },
        { ipAddress: '10.89.0.3', names: ['web', 'web'] },
        { ipAddress: '10.89.0.10', names: ['db', 'db-host', 'postgres'] },
        { ipAddress: '10.89.1.2', names: ['cache', 'cache'] },
      ],
    });
    expect(text.split('\n')).toEqual([
      '127.0.0.1\tlocalhost',
      '::1\tlocalhost ip6-localhost ip6-loopback',
      '10.89.0.3\tweb',
      '10.89.0.10\tdb db-host postgres',
      '10.89.1.2\tcache',
      '',
    ]);
  });

  test('writeInPlace keeps the inode and truncates longer old content', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cspec-hosts-'));
    try {
      const path = join(dir, 'hosts');
      await writeFile(path, 'a long old line that must disappear\n');
      const before = (await stat(path)).ino;
      expect(await writeInPlace(path, 'short\n', { create: false })).toBe(true);
      expect(await readFile(path, 'utf8')).toBe('short\n');
      expect((await stat(path)).ino).toBe(before);
      expect(await writeInPlace(join(dir, 'missing'), 'x', { create: false })).toBe(false);
      expect(await writeInPlace(join(dir, 'new'), 'x', { create: true })).toBe(true);
      expect(await readFile(join(dir, 'new'), 'utf8')).toBe('x');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { lineAndColumn, readSqlFiles } from './sql-files.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'cspec-sql-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('readSqlFiles', () => {
  test('reads a directory in natural name order, .sql files only', async () => {
    await mkdir(join(root, 'migrations'));
    for (const name of ['10_c.sql', '2_b.sql', '1_a.sql', 'notes.md']) {
      await writeFile(join(root, 'migrations', name), `-- ${name}`);
    }
    const files = await readSqlFiles(root, 'migrations', './migrations');
    expect(files.map((f) => f.file)).toEqual([
      'migrations/1_a.sql',
      'migrations/2_b.sql',
      'migrations/10_c.sql',
    ]);
    expect(files[0]?.sql).toBe('-- 1_a.sql');
  });

  test('reads a list of files in the given order', async () => {
    await writeFile(join(root, 'b.sql'), 'B');
    await writeFile(join(root, 'a.sql'), 'A');
    const files = await readSqlFiles(root, 'seed', ['b.sql', 'a.sql']);
    expect(files.map((f) => f.sql)).toEqual(['B', 'A']);
  });

  test('names the missing path', async () => {
    await expect(readSqlFiles(root, 'migrations', './nope')).rejects.toThrow(
      /migrations "\.\/nope" does not exist/,
    );
  });

  test('refuses a directory without .sql files', async () => {
    await mkdir(join(root, 'empty'));
    await expect(readSqlFiles(root, 'migrations', 'empty')).rejects.toThrow(/has no \.sql files/);
  });

  test('nothing declared, nothing read', async () => {
    expect(await readSqlFiles(root, 'seed', undefined)).toEqual([]);
  });
});

describe('lineAndColumn', () => {
  test('maps a 1-based character position to line and column', () => {
    const text = 'CREATE TABLE a (id int);\nCREATE TABLE b (id nope);\n';
    expect(lineAndColumn(text, 1)).toEqual({ line: 1, column: 1 });
    expect(lineAndColumn(text, text.indexOf('nope') + 1)).toEqual({ line: 2, column: 20 });
  });
});

/**
 * Migrations and seeds: a directory of `.sql` files (run in natural name
 * order: 2_x.sql before 10_y.sql) or an explicit list, relative to the
 * project root.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import type { SqlFile } from '../provided.js';

const byName = new Intl.Collator('en', { numeric: true }).compare;

export async function readSqlFiles(
  root: string,
  what: string,
  spec: string | readonly string[] | undefined,
): Promise<SqlFile[]> {
  if (spec === undefined) return [];
  const paths = typeof spec === 'string' ? [spec] : spec;
  const files: SqlFile[] = [];
  for (const path of paths) {
    const absolute = resolve(root, path);
    let isDirectory: boolean;
    try {
      isDirectory = (await stat(absolute)).isDirectory();
    } catch {
      throw new Error(`cspec: ${what} "${path}" does not exist (looked for ${absolute})`);
    }
    const members = isDirectory
      ? (await readdir(absolute))
          .filter((name) => name.endsWith('.sql'))
          .sort(byName)
          .map((name) => resolve(absolute, name))
      : [absolute];
    if (isDirectory && members.length === 0) {
      throw new Error(`cspec: ${what} directory "${path}" has no .sql files`);
    }
    for (const file of members) {
      const shown = relative(root, file);
      files.push({ file: shown.startsWith('..') ? file : shown, sql: await readFile(file, 'utf8') });
    }
  }
  return files;
}

/** 1-based line and column of a 1-based character position in `text`. */
export function lineAndColumn(text: string, position: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, position - 1));
  const lines = before.split('\n');
  return { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1 };
}

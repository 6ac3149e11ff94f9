/**
 * `.dockerignore`: which files of the build context COPY and ADD never see.
 * Patterns are paths relative to the context (a leading `/` is dropped),
 * with `*` and `?` within a path component, `**` across components, and `!`
 * exceptions; the last pattern that matches a path decides. A pattern that
 * matches a directory excludes everything in it.
 */
import { posix } from 'node:path';

interface Rule {
  readonly regex: RegExp;
  readonly exclude: boolean;
}

function toRegex(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      // `**/` matches any number of leading components, `**` anything.
      if (pattern[i + 2] === '/') {
        out += '(?:.*/)?';
        i += 2;
      } else {
        out += '.*';
        i++;
      }
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  // A match of a directory covers what is under it.
  return new RegExp(`^${out}(?:/.*)?$`);
}

export function parseDockerignore(text: string): (path: string) => boolean {
  const rules: Rule[] = [];
  for (const raw of text.split('\n')) {
    let line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const exclude = !line.startsWith('!');
    if (!exclude) line = line.slice(1).trim();
    const clean = posix.normalize(line.replace(/^\/+/, '')).replace(/\/+$/, '');
    if (clean === '.' || clean === '') continue;
    rules.push({ regex: toRegex(clean), exclude });
  }
  /** Whether `path` (relative to the context, `/`-separated) is excluded. */
  return (path: string) => {
    let excluded = false;
    for (const rule of rules) if (rule.regex.test(path)) excluded = rule.exclude;
    return excluded;
  };
}

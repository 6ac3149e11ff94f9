/**
 * Dockerfile syntax: the `# escape=` directive, comments, line
 * continuations, and each instruction's flags (`--from=...`) and form (a
 * JSON array is the exec form). What the words mean is the builder's job.
 */
import { CspecError } from '../../errors.js';

export interface Instruction {
  /** 1-based line the instruction starts on. */
  readonly line: number;
  /** Upper case: `RUN`, `COPY`... */
  readonly keyword: string;
  /** `--name=value` options before the arguments (`--from`, `--chown`, `--interval`...). */
  readonly flags: Readonly<Record<string, string>>;
  /** The arguments after the flags, continuations joined. */
  readonly text: string;
  /** The exec form: the arguments as a JSON array of strings. */
  readonly json: readonly string[] | undefined;
}

export const KEYWORDS = new Set([
  'FROM',
  'RUN',
  'COPY',
  'ADD',
  'ENV',
  'ARG',
  'WORKDIR',
  'USER',
  'LABEL',
  'EXPOSE',
  'VOLUME',
  'CMD',
  'ENTRYPOINT',
  'HEALTHCHECK',
  'SHELL',
  'STOPSIGNAL',
  'MAINTAINER',
  'ONBUILD',
]);

/** A Dockerfile problem, located: `Dockerfile:7: ...`. */
export function dockerfileError(file: string, line: number, message: string, hint?: string): CspecError {
  return new CspecError('CSPEC_IMAGE_BUILD_FAILED', `${file}:${line}: ${message}`, hint ? { hint } : {});
}

function parseJsonArray(text: string): string[] | undefined {
  if (!text.startsWith('[')) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined;
  } catch {
    return undefined;
  }
}

function takeFlags(text: string): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {};
  let rest = text;
  for (;;) {
    const match = /^--([a-z][a-z-]*)(?:=(\S*))?(?:\s+|$)/.exec(rest);
    if (!match) return { flags, rest };
    flags[match[1]!] = match[2] ?? 'true';
    rest = rest.slice(match[0].length);
  }
}

/** Networks a RUN step (`RUN --network=...`) or a whole build (`--network`) can have, as in BuildKit. */
export const NETWORK_MODES = ['default', 'none', 'host'] as const;
export type NetworkMode = (typeof NETWORK_MODES)[number];

export function isNetworkMode(value: string): value is NetworkMode {
  return (NETWORK_MODES as readonly string[]).includes(value);
}

/** RUN takes `--network=default|none|host` and no other flag. */
function checkRunFlags(flags: Readonly<Record<string, string>>, file: string, line: number): void {
  for (const [name, value] of Object.entries(flags)) {
    if (name !== 'network') {
      throw dockerfileError(
        file,
        line,
        `RUN --${name} is not supported`,
        'RUN takes only --network=default|none|host',
      );
    }
    if (!isNetworkMode(value)) {
      throw dockerfileError(
        file,
        line,
        value === 'true'
          ? 'RUN --network needs a value'
          : `RUN --network=${value}: unknown network mode "${value}"`,
        `use --network=${NETWORK_MODES.join('|')}`,
      );
    }
  }
}

export interface Dockerfile {
  readonly instructions: readonly Instruction[];
  /** `\\` or, with `# escape=\``, a backtick. */
  readonly escapeChar: string;
}

export function parseDockerfile(source: string, file = 'Dockerfile'): Dockerfile {
  const lines = source.replace(/\r\n/g, '\n').split('\n');
  let escapeChar = '\\';
  // Parser directives: comment lines of the form `# key=value` at the very top.
  for (const line of lines) {
    const directive = /^#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$/.exec(line);
    if (!directive) break;
    if (directive[1]!.toLowerCase() === 'escape') {
      if (directive[2] !== '\\' && directive[2] !== '`') {
        throw dockerfileError(
          file,
          1,
          `invalid escape directive "${directive[2]}"`,
          'use # escape=\\ or # escape=`',
        );
      }
      escapeChar = directive[2]!;
    }
  }
  const out: Instruction[] = [];
  let pending: { line: number; text: string } | undefined;
  const finish = (entry: { line: number; text: string }) => {
    const text = entry.text.trim();
    if (!text) return;
    const word = text.split(/\s+/)[0] ?? '';
    const keyword = word.toUpperCase();
    if (!KEYWORDS.has(keyword)) {
      throw dockerfileError(
        file,
        entry.line,
        `unknown instruction "${word}"`,
        `instructions are ${[...KEYWORDS].join(', ')}`,
      );
    }
    const afterKeyword = text.slice(word.length).trim();
    const { flags, rest } = takeFlags(afterKeyword);
    if (keyword === 'RUN') checkRunFlags(flags, file, entry.line);
    if (/<<-?["']?[A-Za-z_]/.test(rest) && (keyword === 'RUN' || keyword === 'COPY' || keyword === 'ADD')) {
      throw dockerfileError(
        file,
        entry.line,
        `${keyword} with a heredoc (<<) is not supported`,
        'write the script to a file and COPY it, or use \\ continuations',
      );
    }
    out.push({ line: entry.line, keyword, flags, text: rest.trim(), json: parseJsonArray(rest.trim()) });
  };
  lines.forEach((raw, index) => {
    const trimmed = raw.trim();
    // Comment lines go, also in the middle of a continued instruction.
    if (trimmed.startsWith('#')) return;
    if (!pending && trimmed === '') return;
    const continued = trimmed.endsWith(escapeChar) && !trimmed.endsWith(escapeChar + escapeChar);
    const body = continued ? trimmed.slice(0, -1) : raw;
    if (pending) pending.text += ` ${body.trim()}`;
    else pending = { line: index + 1, text: body };
    if (!continued) {
      finish(pending);
      pending = undefined;
    }
  });
  if (pending) finish(pending);
  return { instructions: out, escapeChar };
}

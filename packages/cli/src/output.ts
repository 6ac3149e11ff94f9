/**
 * The only module that writes to the terminal: data to stdout (lines,
 * column-aligned tables, JSON), diagnostics and errors to stderr.
 */
import type { Writable } from 'node:stream';

export interface Output {
  /** One line of data on stdout. */
  line(text?: string): void;
  /** Raw text on stdout (container logs, exec output), written as is. */
  raw(text: string): void;
  /** Raw text on stderr. */
  rawError(text: string): void;
  /** stdout itself, for binary data such as archives (`isTTY` tells whether it is a terminal). */
  readonly binary: Writable & { readonly isTTY?: boolean };
  /** stderr itself, for live progress (spinners) when `interactive`. */
  readonly progressStream: Writable & { readonly isTTY?: boolean };
  /** Column-aligned table on stdout; the last column is not padded. */
  table(headers: readonly string[], rows: readonly (readonly string[])[]): void;
  /** Pretty-printed JSON on stdout. */
  json(value: unknown): void;
  /** A message for the user on stderr (progress, notices). */
  info(text: string): void;
  /** `error: <message>` and, if given, `hint: <hint>` on stderr. */
  error(message: string, hint?: string): void;
  /** Whether stderr is a terminal (live progress lines can be redrawn in place). */
  readonly interactive: boolean;
  /** Whether stderr takes colors (a terminal, and no NO_COLOR). */
  readonly color: boolean;
}

export interface OutputStreams {
  readonly stdout: Writable & { readonly isTTY?: boolean };
  readonly stderr: Writable & { readonly isTTY?: boolean };
  /** Set when `NO_COLOR` is present in the environment. */
  readonly noColor: boolean;
}

/** Pads every column but the last to the width of its longest cell (two spaces apart). */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const all = [headers, ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((row) =>
    headers
      .map((_, i) => {
        const cell = row[i] ?? '';
        return i === headers.length - 1 ? cell : cell.padEnd(widths[i] ?? 0);
      })
      .join('   ')
      .trimEnd(),
  );
}

export function createOutput(streams: OutputStreams): Output {
  const { stdout, stderr } = streams;
  const color = !streams.noColor && stderr.isTTY === true;
  const red = (text: string) => (color ? `\u001b[31m${text}\u001b[39m` : text);
  return {
    interactive: stderr.isTTY === true,
    color,
    binary: stdout,
    progressStream: stderr,
    line(text = '') {
      stdout.write(`${text}\n`);
    },
    raw(text) {
      stdout.write(text);
    },
    rawError(text) {
      stderr.write(text);
    },
    table(headers, rows) {
      stdout.write(`${formatTable(headers, rows).join('\n')}\n`);
    },
    json(value) {
      stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    },
    info(text) {
      stderr.write(`${text}\n`);
    },
    error(message, hint) {
      stderr.write(`${red('error:')} ${message}\n`);
      if (hint) stderr.write(`hint: ${hint}\n`);
    },
  };
}

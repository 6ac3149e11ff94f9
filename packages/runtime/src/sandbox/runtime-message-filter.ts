/**
 * An attached container shares its stderr with the OCI runtime that starts
 * it, and a runtime that fails (a command missing from the image, say)
 * prints its own error there: `runc run failed: unable to start container
 * process: exec: "x": executable file not found in $PATH`. The same error is
 * in the runtime's log file, from which cspec makes a clean CspecError, so
 * the stream the caller sees goes through this filter: it passes every byte
 * at once except lines that start with the runtime's own prefix. Only a
 * line start that may still become that prefix is held back (a few bytes).
 */

export interface RuntimeMessageFilter {
  push(chunk: Buffer): void;
  /** Flushes what is held back (a final line without a newline). */
  end(): void;
}

export function runtimeMessagePrefixes(runtimeName: string): string[] {
  return [`${runtimeName} run failed: `, `${runtimeName}: `];
}

export function createRuntimeMessageFilter(
  prefixes: readonly string[],
  write: (chunk: Buffer) => void,
): RuntimeMessageFilter {
  // latin1 maps bytes 1:1 to characters, so multi-byte UTF-8 split across chunks survives.
  let held = '';
  let passing = false;
  let dropping = false;
  const out = (text: string) => {
    if (text) write(Buffer.from(text, 'latin1'));
  };
  return {
    push(chunk) {
      let text = '';
      for (const piece of chunk.toString('latin1').split(/(?<=\n)/)) {
        const complete = piece.endsWith('\n');
        if (passing) {
          text += piece;
          passing = !complete;
          continue;
        }
        if (dropping) {
          dropping = !complete;
          continue;
        }
        const line = held + piece;
        held = '';
        if (prefixes.some((p) => line.startsWith(p))) {
          dropping = !complete;
          continue;
        }
        if (!complete && prefixes.some((p) => p.startsWith(line))) {
          held = line;
          continue;
        }
        text += line;
        passing = !complete;
      }
      out(text);
    },
    end() {
      out(held);
      held = '';
    },
  };
}

import { execFileSync } from 'node:child_process';

/**
 * A program on a real terminal: a detached tmux session on a server of its
 * own, read back with capture-pane as a person would see the screen.
 */
export interface Terminal {
  /** The visible screen, one string per row, trailing blanks trimmed. */
  screen(): string[];
  close(): void;
}

export function openTerminal(
  command: readonly string[],
  options: { cwd: string; env: Record<string, string>; columns: number; rows: number },
): Terminal {
  const socket = `cspec-test-${process.pid}-${Date.now()}`;
  const tmux = (args: readonly string[]) =>
    execFileSync('tmux', ['-L', socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  const quoted = command.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const env = Object.entries(options.env).map(([k, v]) => `${k}='${v.replaceAll("'", "'\\''")}'`);
  // The shell stays after the program so its last screen can be read; `exit N` marks the end.
  tmux([
    'new-session',
    '-d',
    '-x',
    String(options.columns),
    '-y',
    String(options.rows),
    '-c',
    options.cwd,
    `env ${env.join(' ')} ${quoted}; echo "[exit $?]"; sleep 3600`,
  ]);
  return {
    screen: () =>
      tmux(['capture-pane', '-p'])
        .split('\n')
        .map((l) => l.trimEnd()),
    close: () => {
      try {
        tmux(['kill-server']);
      } catch {
        // already gone
      }
    },
  };
}

import type { ChildProcess } from 'node:child_process';

/** Collects a child's stdout and stderr as text; read them once it has closed. */
export function captureOutput(child: ChildProcess): { stdout(): string; stderr(): string } {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  return { stdout: () => stdout, stderr: () => stderr };
}

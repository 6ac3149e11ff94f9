import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createOutput, formatTable } from './output.js';

function sink(isTTY = false) {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream: Object.assign(stream, { isTTY }), text: () => chunks.join('') };
}

describe('formatTable', () => {
  it('aligns columns and leaves the last one unpadded', () => {
    expect(
      formatTable(
        ['ID', 'NAME', 'PORTS'],
        [
          ['abc', 'postgres-main', ''],
          ['defghi', 'r', '127.0.0.1:1->2/tcp'],
        ],
      ),
    ).toEqual([
      'ID       NAME            PORTS',
      'abc      postgres-main',
      'defghi   r               127.0.0.1:1->2/tcp',
    ]);
  });
});

describe('createOutput', () => {
  it('writes data to stdout and errors with hints to stderr', () => {
    const stdout = sink();
    const stderr = sink();
    const out = createOutput({ stdout: stdout.stream, stderr: stderr.stream, noColor: false });
    out.line('hello');
    out.json({ a: 1 });
    out.error('it broke', 'run: fix it');
    expect(stdout.text()).toBe('hello\n{\n  "a": 1\n}\n');
    expect(stderr.text()).toBe('error: it broke\nhint: run: fix it\n');
  });

  it('colors only a terminal, and never with NO_COLOR', () => {
    const tty = sink(true);
    createOutput({ stdout: sink().stream, stderr: tty.stream, noColor: false }).error('x');
    expect(tty.text()).toContain('\u001b[31m');
    const noColor = sink(true);
    createOutput({ stdout: sink().stream, stderr: noColor.stream, noColor: true }).error('x');
    expect(noColor.text()).toBe('error: x\n');
  });
});

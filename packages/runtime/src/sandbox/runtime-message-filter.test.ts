import { describe, expect, it } from 'vitest';
import { createRuntimeMessageFilter, runtimeMessagePrefixes } from './runtime-message-filter.js';

function run(chunks: readonly string[]): { text: string; writes: string[] } {
  const writes: string[] = [];
  const filter = createRuntimeMessageFilter(runtimeMessagePrefixes('runc'), (b) => writes.push(b.toString()));
  for (const c of chunks) filter.push(Buffer.from(c));
  filter.end();
  return { text: writes.join(''), writes };
}

describe('runtime message filter', () => {
  it("drops runc's own failure line", () => {
    const line =
      'runc run failed: unable to start container process: exec: "x": executable file not found in $PATH\n';
    expect(run([line]).text).toBe('');
    expect(run(['runc ru', 'n failed: a', 'b\nafter\n']).text).toBe('after\n');
  });

  it('passes everything else at once, partial lines included (prompts)', () => {
    expect(run(['root@box:/# ']).writes).toEqual(['root@box:/# ']);
    expect(run(['hello\n', 'runner: ok\n', 'time="x" level=error msg=y\n']).text).toBe(
      'hello\nrunner: ok\ntime="x" level=error msg=y\n',
    );
    // Mid-line text that looks like the prefix is output of the container.
    expect(run(['say: runc run failed: no\n']).text).toBe('say: runc run failed: no\n');
  });

  it('holds back only a line start that may still become the prefix, and flushes it at the end', () => {
    const writes: string[] = [];
    const filter = createRuntimeMessageFilter(runtimeMessagePrefixes('runc'), (b) =>
      writes.push(b.toString()),
    );
    filter.push(Buffer.from('ok\nrun'));
    expect(writes).toEqual(['ok\n']);
    filter.push(Buffer.from('ning\n'));
    expect(writes.join('')).toBe('ok\nrunning\n');
    filter.push(Buffer.from('ru'));
    filter.end();
    expect(writes.join('')).toBe('ok\nrunning\nru');
  });

  it('keeps multi-byte characters split across chunks intact', () => {
    const bytes = Buffer.from('héllo wörld\n');
    const writes: Buffer[] = [];
    const filter = createRuntimeMessageFilter(['runc: '], (b) => writes.push(b));
    filter.push(bytes.subarray(0, 2));
    filter.push(bytes.subarray(2));
    expect(Buffer.concat(writes).toString()).toBe('héllo wörld\n');
  });
});

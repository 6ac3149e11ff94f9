/**
 * Progress of `cspec test` on stderr. On a terminal: one live line per
 * distribution (spinner, elapsed time, counts so far, then ✔ or ✖),
 * redrawn in place. Elsewhere (CI logs): plain timestamped lines when a
 * phase changes, a test fails or a distribution ends.
 */

import type { Tally } from './results.js';
import type { Phase } from './run-suite.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const FRAME_MS = 100;

export interface ProgressView {
  phase(name: string, phase: Phase): void;
  progress(name: string, tally: Tally): void;
  finished(name: string, passed: boolean, detail?: string): void;
  /** Stops redrawing; the last frame stays on screen. */
  close(): void;
}

interface Row {
  phase: Phase;
  tally: Tally | undefined;
  startedAt: number | undefined;
  endedAt: number | undefined;
  passed: boolean | undefined;
  reported: number;
}

export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

function counts(tally: Tally | undefined): string {
  const t = tally ?? { passed: 0, failed: 0, skipped: 0 };
  return `${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped`;
}

export interface ViewOptions {
  readonly write: (text: string) => void;
  readonly interactive: boolean;
  readonly color: boolean;
  readonly now?: () => number;
}

export function createProgressView(names: readonly string[], options: ViewOptions): ProgressView {
  const now = options.now ?? Date.now;
  const rows = new Map<string, Row>(
    names.map((n) => [
      n,
      {
        phase: 'queued',
        tally: undefined,
        startedAt: undefined,
        endedAt: undefined,
        passed: undefined,
        reported: 0,
      },
    ]),
  );
  const width = Math.max(...names.map((n) => n.length));
  const paint = (code: number, text: string) => (options.color ? `\u001b[${code}m${text}\u001b[39m` : text);
  const row = (name: string): Row => rows.get(name) as Row;

  if (!options.interactive) {
    const stamp = () => new Date(now()).toISOString().slice(11, 19);
    const say = (name: string, text: string) => options.write(`[${stamp()}] ${name}: ${text}\n`);
    return {
      phase(name, phase) {
        const r = row(name);
        if (phase === 'preparing image' || phase === 'running') r.startedAt ??= now();
        if (phase !== 'done' && phase !== r.phase) say(name, phase);
        r.phase = phase;
      },
      progress(name, tally) {
        const r = row(name);
        r.tally = tally;
        for (const failure of tally.failures.slice(r.reported)) {
          const where = failure.file ? `${failure.file} > ` : '';
          say(name, `✖ ${where}${failure.name}: ${failure.errors[0]?.message.split('\n')[0] ?? ''}`);
        }
        r.reported = tally.failures.length;
      },
      finished(name, passed, detail) {
        const r = row(name);
        const took = formatDuration(now() - (r.startedAt ?? now()));
        say(
          name,
          `${passed ? '✔ passed' : '✖ failed'} — ${counts(r.tally)} in ${took}${detail ? ` — ${detail}` : ''}`,
        );
      },
      close() {},
    };
  }

  let frame = 0;
  let drawn = 0;
  const line = (name: string): string => {
    const r = row(name);
    const elapsed = r.startedAt === undefined ? '' : formatDuration((r.endedAt ?? now()) - r.startedAt);
    const mark =
      r.passed === undefined
        ? paint(36, FRAMES[frame % FRAMES.length] as string)
        : r.passed
          ? paint(32, '✔')
          : paint(31, '✖');
    const what = r.phase === 'running' || r.phase === 'done' ? counts(r.tally) : r.phase;
    return `${mark} ${name.padEnd(width)}  ${elapsed.padStart(7)}  ${what}`;
  };
  const draw = () => {
    const up = drawn > 0 ? `\u001b[${drawn}A` : '';
    options.write(`${up}${names.map((n) => `\u001b[2K${line(n)}\n`).join('')}`);
    drawn = names.length;
  };
  const timer = setInterval(() => {
    frame++;
    draw();
  }, FRAME_MS);
  draw();
  return {
    phase(name, phase) {
      const r = row(name);
      if (phase === 'preparing image' || phase === 'running') r.startedAt ??= now();
      r.phase = phase;
    },
    progress(name, tally) {
      row(name).tally = tally;
    },
    finished(name, passed) {
      const r = row(name);
      r.passed = passed;
      r.endedAt = now();
      r.startedAt ??= r.endedAt;
    },
    close() {
      clearInterval(timer);
      draw();
    },
  };
}

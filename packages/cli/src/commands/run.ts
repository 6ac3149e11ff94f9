import type { ImageProgress, RunOptions } from '@cspec/runtime';
import { defineCommand } from '../command.js';
import { asEngineError, EXIT } from '../exit-codes.js';
import { formatSize } from '../parse-size.js';
import { buildRunSpec, RUN_FLAGS } from '../run-spec.js';
import { UsageError } from '../usage-error.js';

/** The keep-alive timer interval while waiting for an attached container (the monitor may be unref'd). */
const KEEP_ALIVE_MS = 60_000;

export const runCommand = defineCommand({
  name: 'run',
  summary: 'Run a command in a new container',
  usage: 'run [OPTIONS] IMAGE [COMMAND [ARG...]]',
  examples: [
    'cspec run --rm cspec/debian:bookworm cat /etc/debian_version',
    'cspec run -d -p 8080:80 --name web cspec/debian:bookworm python3 -m http.server 80',
    "cspec run --rm --memory 64m --pids 32 -e GREETING=hi cspec/debian:bookworm sh -c 'echo $GREETING'",
  ],
  flags: RUN_FLAGS,
  stopAtFirstPositional: true,
  async run(ctx) {
    const { args, out } = ctx;
    const spec = buildRunSpec(args, ctx.env);
    const rm = args.boolean('rm');
    const detach = args.boolean('detach');
    if (rm && detach) {
      throw new UsageError(
        '--rm cannot be combined with -d yet — remove it later with: cspec rm -f NAME',
        'run',
      );
    }
    const engine = await ctx.engine();
    const onProgress = (event: ImageProgress) => {
      if (event.phase === 'cached') return;
      // Of a layer's download, only its start and end (the pull command shows the bytes in between).
      if (event.bytes !== undefined && event.bytes !== 0 && event.bytes !== event.totalBytes) return;
      out.info(`image: ${event.phase}: ${event.message}`);
    };

    // The engine validates the spec before it creates anything; a spec the flags
    // described badly (e.g. `--memory 1k`) is a command-line mistake.
    const start = (options: RunOptions) =>
      engine.run(spec, { signal: ctx.signal, onProgress, ...options }).catch((error: unknown) => {
        if (asEngineError(error)?.code === 'CSPEC_INVALID_SPEC')
          throw new UsageError((error as Error).message, 'run');
        throw error;
      });

    if (detach) {
      const container = await start({ detached: true });
      out.line(container.id);
      return EXIT.ok;
    }

    // Without --rm the exited container stays listed in `cspec ps -a`: it must outlive this process.
    const container = await start({ inheritStdio: true, detached: !rm });
    const keepAlive = setInterval(() => {}, KEEP_ALIVE_MS);
    let interrupted = false;
    const onAbort = () => {
      interrupted = true;
      container.stop().catch(() => container.kill('SIGKILL').catch(() => {}));
    };
    const onForce = () => {
      interrupted = true;
      container.kill('SIGKILL').catch(() => {});
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    ctx.forceSignal.addEventListener('abort', onForce, { once: true });
    if (ctx.signal.aborted) onAbort();
    try {
      const exit = await container.wait();
      if (interrupted) return EXIT.interrupted;
      if (exit.oomKilled) {
        const limit = spec.resources?.memoryBytes;
        const what = exit.exitCode === 137 ? 'container was killed' : 'a process in the container was killed';
        out.info(
          `cspec: ${what}: out of memory${limit === undefined ? '' : ` (limit ${formatSize(limit)})`}`,
        );
      }
      return exit.exitCode;
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      ctx.forceSignal.removeEventListener('abort', onForce);
      clearInterval(keepAlive);
      if (rm) await container.remove();
    }
  },
});

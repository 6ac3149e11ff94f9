import { defineCommand } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { UsageError } from '../usage-error.js';

export const logsCommand = defineCommand({
  name: 'logs',
  summary: 'Print the output of a container',
  usage: 'logs [-f] [--tail N] CONTAINER',
  examples: ['cspec logs web', 'cspec logs -f --tail 20 web'],
  flags: [
    { name: 'follow', short: 'f', type: 'boolean', description: 'Keep printing until the container exits' },
    { name: 'tail', short: 'n', type: 'string', placeholder: 'N', description: 'Only the last N lines' },
  ],
  async run({ args, out, engine, signal }) {
    const [name, ...extra] = args.positionals;
    if (!name) throw new UsageError('"cspec logs" needs a CONTAINER', 'logs');
    if (extra.length) throw new UsageError(`unexpected argument: ${extra[0]}`, 'logs');
    const tailText = args.string('tail');
    let tail: number | undefined;
    if (tailText !== undefined && tailText !== 'all') {
      tail = Number(tailText);
      if (!Number.isInteger(tail) || tail < 0) {
        throw new UsageError(`invalid --tail "${tailText}" — use a whole number of lines or "all"`, 'logs');
      }
    }
    const container = await (await engine()).container(name);
    if (!args.boolean('follow')) {
      out.raw(await container.logText(tail === undefined ? {} : { tail }));
      return EXIT.ok;
    }
    // Following ends when the engine sees the exit; waiting makes a handle found on disk notice it.
    container.wait().catch(() => {});
    try {
      for await (const chunk of container.logs({
        follow: true,
        signal,
        ...(tail === undefined ? {} : { tail }),
      })) {
        out.raw(chunk);
      }
    } catch (error) {
      if (!signal.aborted) throw error;
    }
    return signal.aborted ? EXIT.interrupted : EXIT.ok;
  },
});

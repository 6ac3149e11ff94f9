import { defineCommand } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { UsageError } from '../usage-error.js';

export const stopCommand = defineCommand({
  name: 'stop',
  summary: 'Stop running containers (SIGTERM, then SIGKILL after a timeout)',
  usage: 'stop [-t SECONDS] CONTAINER...',
  examples: ['cspec stop web', 'cspec stop -t 0 web db'],
  flags: [
    {
      name: 'time',
      short: 't',
      type: 'string',
      placeholder: 'SECONDS',
      description: 'Seconds to wait before killing (default 10)',
    },
  ],
  async run({ args, out, engine }) {
    if (args.positionals.length === 0)
      throw new UsageError('"cspec stop" needs at least one CONTAINER', 'stop');
    const time = args.string('time') ?? '10';
    const seconds = Number(time);
    if (time.trim() === '' || !Number.isFinite(seconds) || seconds < 0) {
      throw new UsageError(`invalid -t "${time}" — use a number of seconds >= 0`, 'stop');
    }
    const e = await engine();
    let failed = 0;
    for (const name of args.positionals) {
      try {
        await (await e.container(name)).stop({ timeoutMs: seconds * 1000 });
        out.line(name);
      } catch (error) {
        failed++;
        out.error(error instanceof Error ? error.message : String(error));
      }
    }
    return failed ? EXIT.engine : EXIT.ok;
  },
});

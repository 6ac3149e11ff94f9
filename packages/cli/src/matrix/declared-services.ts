/**
 * The services a project's Vitest config declares with the cspec plugin,
 * read by loading that config the way Vitest does (through the project's own
 * Vite), so `cspec test --distro` can start them once on the host.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CspecPluginApi, ServiceDefinition } from '@cspec/vitest/host';
import { PLUGIN_NAME } from '@cspec/vitest/host';
import { UsageError } from '../usage-error.js';
import type { Project } from './project.js';

const CONFIG_FILES = ['vitest.config', 'vite.config'].flatMap((base) =>
  ['ts', 'mts', 'cts', 'js', 'mjs', 'cjs'].map((ext) => `${base}.${ext}`),
);

interface ViteModule {
  loadConfigFromFile(
    env: { command: 'serve'; mode: string },
    file: string,
    root: string,
    logLevel: 'silent',
  ): Promise<{ config: { plugins?: unknown[] } } | null>;
}

export function findConfigFile(dir: string): string | undefined {
  return CONFIG_FILES.map((name) => join(dir, name)).find((path) => existsSync(path));
}

function flatPlugins(list: unknown): unknown[] {
  if (!Array.isArray(list)) return list ? [list] : [];
  return list.flatMap(flatPlugins);
}

/** The plugin's `services`, or undefined when the config has no cspec plugin (or no config at all). */
export async function declaredServices(
  project: Project,
): Promise<Readonly<Record<string, ServiceDefinition>> | undefined> {
  const file = findConfigFile(project.dir);
  if (!file) return undefined;
  let vite: ViteModule;
  try {
    // Vite comes with Vitest: resolve it from there, as Vitest would.
    const pkg = createRequire(project.vitestBin).resolve('vite/package.json');
    vite = (await import(pathToFileURL(join(dirname(pkg), 'dist/node/index.js')).href)) as ViteModule;
  } catch (error) {
    throw new UsageError(
      `cannot load Vite beside ${project.vitestBin} to read ${file}: ${(error as Error).message} — reinstall vitest`,
      'test',
    );
  }
  let loaded: Awaited<ReturnType<ViteModule['loadConfigFromFile']>>;
  try {
    loaded = await vite.loadConfigFromFile({ command: 'serve', mode: 'test' }, file, project.dir, 'silent');
  } catch (error) {
    throw new UsageError(`cannot load ${file}: ${(error as Error).message}`, 'test');
  }
  const plugins = await Promise.all(flatPlugins(loaded?.config.plugins));
  const plugin = flatPlugins(plugins).find(
    (p): p is { api: CspecPluginApi } => (p as { name?: string } | null)?.name === PLUGIN_NAME,
  );
  return plugin?.api?.options.services;
}

/**
 * Vitest global setup added by the plugin: runs in the main process before
 * any test file, starts the project's services (shared between projects that
 * declare the same ones), provides their connection data, and stops them
 * when the run ends — Vitest calls the returned teardown also after failures
 * and when watch mode restarts on a config change. If the process dies
 * instead, the runtime's session watcher removes the containers.
 */
import type { TestProject } from 'vitest/node';
import { type CspecPluginApi, PLUGIN_NAME } from '../plugin.js';
import { PROVIDE_KEY, SERVICES_ENV } from '../provided.js';
import { parseGivenServices } from './given-services.js';
import { type RunningServices, startServices } from './orchestrator.js';

interface Shared {
  readonly running: Promise<RunningServices>;
  users: number;
}

const REGISTRY = Symbol.for('dev.cspec.vitest.services');
const slot = globalThis as { [REGISTRY]?: Map<string, Shared> };
slot[REGISTRY] ??= new Map();
const registry = slot[REGISTRY] as Map<string, Shared>;

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const plugin = project.vite.config.plugins.find((p) => p.name === PLUGIN_NAME);
  const api = plugin?.api as CspecPluginApi | undefined;
  if (!api) return undefined;
  const given = process.env[SERVICES_ENV];
  if (given) {
    // Started and stopped by `cspec test` on the host.
    project.provide(PROVIDE_KEY, parseGivenServices(given, api.options.services));
    return undefined;
  }
  const root = project.config.root;
  const key = JSON.stringify([root, api.options.services]);
  let shared = registry.get(key);
  if (!shared) {
    const verbose = api.options.verbose ?? true;
    const running = startServices(api.options.services, {
      root,
      log: (message) => {
        if (verbose) process.stderr.write(`[cspec] ${message}\n`);
      },
    });
    shared = { running, users: 0 };
    registry.set(key, shared);
    running.catch(() => registry.delete(key));
  }
  shared.users++;
  const running = await shared.running;
  project.provide(PROVIDE_KEY, running.provided);
  const owner = shared;
  return async () => {
    owner.users--;
    if (owner.users > 0) return;
    registry.delete(key);
    await running.stop();
  };
}

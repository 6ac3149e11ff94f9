/**
 * The Vitest plugin: `plugins: [cspec({ services: { db: postgres() } })]`.
 * It adds a global setup (main/global-setup.ts) that starts the services once
 * per run in Vitest's main process and provides their connection data to
 * workers; the options travel there on the plugin's `api`. It also adds a
 * setup file (worker/orphan-guard.ts) that ends a worker left without its
 * main process.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';
import { checkServiceNames } from './main/orchestrator.js';
import type { ServiceDefinition } from './services/definitions.js';

export interface CspecOptions {
  readonly services: Readonly<Record<string, ServiceDefinition>>;
  /** Print one line per service when it is ready. @default true */
  readonly verbose?: boolean;
}

export const PLUGIN_NAME = 'cspec';

export interface CspecPluginApi {
  readonly options: CspecOptions;
}

export function cspec(options: CspecOptions): Plugin {
  if (typeof options !== 'object' || options === null || typeof options.services !== 'object') {
    throw new TypeError(
      'cspec: the plugin needs { services: { name: postgres() | redis() | mariadb() | service(...) } }',
    );
  }
  checkServiceNames(options.services);
  // The same file type as this module: .ts when Vitest runs cspec from source, .js from dist.
  const extension = extname(fileURLToPath(import.meta.url));
  const globalSetup = fileURLToPath(new URL(`./main/global-setup${extension}`, import.meta.url));
  const orphanGuard = fileURLToPath(new URL(`./worker/orphan-guard${extension}`, import.meta.url));
  const api: CspecPluginApi = { options };
  return {
    name: PLUGIN_NAME,
    api,
    config: () =>
      ({ test: { globalSetup: [globalSetup], setupFiles: [orphanGuard] } }) as Record<string, unknown>,
  };
}

/**
 * `@cspec/vitest/host`: for tools that run a project's suites elsewhere
 * (`cspec test --distro`): start the services a config declares once, on the
 * host, and hand their connection data to suites through CSPEC_SERVICES.
 */
export { type RunningServices, type StartServicesOptions, startServices } from './main/orchestrator.js';
export { type CspecPluginApi, PLUGIN_NAME } from './plugin.js';
export { type ProvidedServices, SERVICES_ENV } from './provided.js';
export type { ServiceDefinition } from './services/definitions.js';

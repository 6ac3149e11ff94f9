/**
 * `cspec`: the umbrella entry point. `import { withContainer, GenericContainer } from 'cspec'`
 * gives the runtime's public API; the `npx cspec` binary lives in bin.ts.
 */
export * from '@cspec/runtime';

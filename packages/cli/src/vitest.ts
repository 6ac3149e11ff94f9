/** `cspec/vitest`: the Vitest plugin and fixtures (`@cspec/vitest`). */
export * from '@cspec/vitest';

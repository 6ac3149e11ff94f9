/**
 * @cspec/vitest — the Vitest plugin and per-test service fixtures are not
 * built yet (tracked in the Vitest integration issue). Until then, use
 * `withContainer` from `cspec` inside tests.
 */
export {};

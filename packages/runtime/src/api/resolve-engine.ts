import type { Engine } from '../engine/engine.js';

/**
 * The given engine, else the per-process default one. The default engine is
 * imported on first use, so code that always passes an engine (or only
 * builds specs) never loads the native engine.
 */
export async function resolveEngine(engine: Engine | undefined): Promise<Engine> {
  if (engine) return engine;
  const { getDefaultEngine } = await import('../engine/default-engine.js');
  return getDefaultEngine();
}

/** What every service starter gets from the orchestrator. */
import type { Container, Engine, NetworkAttachment } from '@cspec/runtime';
import type { ProvidedService } from '../provided.js';

export interface ServiceContext {
  readonly engine: Engine;
  /** The Vitest project's root: migrations and seeds are relative to it. */
  readonly root: string;
  /** The run's network; every service joins it under its own name. */
  readonly networks: readonly NetworkAttachment[];
  readonly labels: Readonly<Record<string, string>>;
  readonly signal: AbortSignal;
  readonly log: (message: string) => void;
}

export interface StartedService {
  readonly container: Container;
  readonly provided: ProvidedService;
  /** One line for the run's output, e.g. "template from cache". */
  readonly detail: string;
}

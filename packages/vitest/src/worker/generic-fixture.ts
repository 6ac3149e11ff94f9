/** A generic service as tests see it: where it listens, plus exec and logs through its container. */
import { type ExecResult, getDefaultEngine } from '@cspec/runtime';
import type { ProvidedGeneric } from '../provided.js';

export interface ServiceHandle {
  readonly host: string;
  /** The host port of the first published port. */
  readonly port: number | undefined;
  /** container port -> host port */
  readonly ports: Readonly<Record<number, number>>;
  /** `http://127.0.0.1:<port>` for the first published port. */
  readonly url: string | undefined;
  mappedPort(containerPort: number): number;
  exec(command: readonly string[]): Promise<ExecResult>;
  logs(options?: { readonly tail?: number }): Promise<string>;
}

export function serviceHandle(provided: ProvidedGeneric): ServiceHandle {
  const first = Object.values(provided.ports)[0];
  const container = async () => (await getDefaultEngine()).container(provided.containerId);
  return {
    host: provided.host,
    port: first,
    ports: provided.ports,
    url: first === undefined ? undefined : `http://${provided.host}:${first}`,
    mappedPort(containerPort) {
      const port = provided.ports[containerPort];
      if (port === undefined) {
        throw new Error(`cspec: service "${provided.name}" does not publish port ${containerPort}`);
      }
      return port;
    },
    exec: async (command) => (await container()).exec(command),
    logs: async (options) => (await container()).logText(options ?? {}),
  };
}

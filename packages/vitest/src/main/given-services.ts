/**
 * Services started by someone else — `cspec test --distro` starts them once
 * on the host for every distribution's suite — arrive as JSON in
 * CSPEC_SERVICES. They must be the services this config declares.
 */
import type { ProvidedServices } from '../provided.js';
import { SERVICES_ENV } from '../provided.js';
import type { ServiceDefinition } from '../services/definitions.js';

export function parseGivenServices(
  text: string,
  declared: Readonly<Record<string, ServiceDefinition>>,
): ProvidedServices {
  let given: ProvidedServices;
  try {
    given = JSON.parse(text) as ProvidedServices;
  } catch (error) {
    throw new Error(`cspec: ${SERVICES_ENV} is not JSON (${(error as Error).message}) — unset it`);
  }
  const names = Object.keys(given?.services ?? {}).sort();
  const wanted = Object.keys(declared).sort();
  if (names.join(',') !== wanted.join(',')) {
    throw new Error(
      `cspec: ${SERVICES_ENV} holds the services [${names.join(', ')}] but this config declares [${wanted.join(', ')}] — run the suite with "cspec test" from the project's directory, or unset ${SERVICES_ENV}`,
    );
  }
  for (const name of names) {
    if (given.services[name]?.kind !== declared[name]?.kind) {
      throw new Error(
        `cspec: ${SERVICES_ENV} gives "${name}" as ${given.services[name]?.kind}, but this config declares ${declared[name]?.kind}`,
      );
    }
  }
  return given;
}

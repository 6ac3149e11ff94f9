import type { DoctorCheck } from './checks.js';

/** One line of the report; the fix is kept only for a failure. */
export function check(
  id: string,
  title: string,
  ok: boolean,
  detail: string,
  fix?: string,
  required = true,
  section?: DoctorCheck['section'],
): DoctorCheck {
  return {
    id,
    title,
    ok,
    required,
    detail,
    ...(section ? { section } : {}),
    ...(ok || fix === undefined ? {} : { fix }),
  };
}

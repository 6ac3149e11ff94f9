/**
 * Entry point of the session watcher, started only when a session's owner
 * died without cleaning up. Removes the session's containers and exits.
 */
import type { RuntimeConfig } from '../config.js';
import { createTeardownContext } from '../engine/teardown-context.js';
import { sweepSessions } from './sweep.js';

const [configJson, sessionId] = process.argv.slice(2);
if (!configJson || !sessionId) {
  process.exitCode = 2;
} else {
  const config = JSON.parse(configJson) as RuntimeConfig;
  await sweepSessions(await createTeardownContext(config), { only: sessionId });
}

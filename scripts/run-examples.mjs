// Runs `npm test` in every example workspace, one after another, and fails if any fails.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const examples = readdirSync(new URL('../examples/', import.meta.url)).filter((d) =>
  existsSync(new URL(`../examples/${d}/package.json`, import.meta.url)),
);
let failed = 0;
for (const name of examples) {
  process.stdout.write(`\n== examples/${name}\n`);
  const result = spawnSync('npm', ['test'], {
    cwd: new URL(`../examples/${name}/`, import.meta.url),
    stdio: 'inherit',
  });
  if (result.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);

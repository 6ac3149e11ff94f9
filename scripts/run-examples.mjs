#!/usr/bin/env zx
// Runs `npm test` in every example workspace, one after another, and fails if any fails
// (all of them run, so one failure does not hide another).
import { $, fs, path } from 'zx';

$.verbose = true;
const root = path.join(import.meta.dirname, '..', 'examples');
const examples = (await fs.readdir(root)).filter((d) => fs.existsSync(path.join(root, d, 'package.json')));
const failed = [];
for (const name of examples.sort()) {
  console.log(`\n== examples/${name}`);
  const result = await $({ cwd: path.join(root, name), stdio: 'inherit', nothrow: true })`npm test`;
  if (result.exitCode !== 0) failed.push(name);
}
if (failed.length) {
  console.error(`\nexamples failed: ${failed.join(', ')}`);
  process.exit(1);
}

/**
 * GitHub Actions: failures as `::error` workflow annotations (on the test
 * file and line when known) and a summary table for $GITHUB_STEP_SUMMARY.
 */
import { join, relative } from 'node:path';
import { formatDuration } from './progress-view.js';
import type { SuiteResult } from './run-suite.js';

function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/**
 * One `::error` line per failure. `projectDir` and `workspace` (GITHUB_WORKSPACE)
 * make file paths relative to the repository, as annotations need.
 */
export function annotations(
  results: readonly SuiteResult[],
  projectDir: string,
  workspace: string | undefined,
): string[] {
  const lines: string[] = [];
  for (const result of results) {
    for (const failure of result.tally.failures) {
      const error = failure.errors[0];
      const props: string[] = [];
      if (failure.file) {
        const path = workspace ? relative(workspace, join(projectDir, failure.file)) : failure.file;
        props.push(`file=${escapeProperty(path)}`);
        if (error?.line !== undefined) props.push(`line=${error.line}`);
      }
      props.push(`title=${escapeProperty(`${result.name}: ${failure.name}`)}`);
      lines.push(`::error ${props.join(',')}::${escapeData(error?.message ?? 'failed')}`);
    }
    if (result.error !== undefined) {
      lines.push(
        `::error title=${escapeProperty(`${result.name}: the suite did not run`)}::${escapeData(result.error)}`,
      );
    }
  }
  return lines;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** Markdown for the job summary: the final table, then the failures. */
export function stepSummary(results: readonly SuiteResult[]): string {
  const lines = [
    '### cspec test',
    '',
    '| | distribution | passed | failed | skipped | duration |',
    '|---|---|---:|---:|---:|---:|',
    ...results.map(
      (r) =>
        `| ${r.passed ? '✅' : '❌'} | ${cell(r.name)} | ${r.tally.passed} | ${r.tally.failed} | ${r.tally.skipped} | ${formatDuration(r.durationMs)} |`,
    ),
  ];
  const failures = results.flatMap((r) => [
    ...r.tally.failures.map(
      (f) =>
        `- **${cell(r.name)}** ${cell(f.file ? `${f.file} > ` : '')}${cell(f.name)}: ${cell(f.errors[0]?.message.split('\n')[0] ?? '')}`,
    ),
    ...(r.error !== undefined ? [`- **${cell(r.name)}** ${cell(r.error.split('\n')[0] ?? '')}`] : []),
  ]);
  if (failures.length) lines.push('', '#### Failures', '', ...failures);
  return `${lines.join('\n')}\n`;
}

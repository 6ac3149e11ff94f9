/**
 * bench/results/chart.svg: for each scenario, cspec's time (or memory) as a
 * fraction of the peer's in the same run, with the goal marked. Reads the
 * newest result file that holds each scenario, so the chart always matches
 * the JSON files the README cites. `npm run chart -w @cspec/bench`; also
 * written at the end of `npm run bench`.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface Row {
  readonly label: string;
  readonly ratio: number;
  readonly goal: number | undefined;
  readonly source: string;
}

type Scenario = { scenario: string } & Record<string, unknown>;

const RESULTS = fileURLToPath(new URL('../results/', import.meta.url));

/** The newest run (by the time it records; several runs may share a date) that has each scenario. */
function latestScenarios(): Map<string, { data: Scenario; file: string }> {
  const found = new Map<string, { data: Scenario; file: string }>();
  const runs = readdirSync(RESULTS)
    .filter((f) => f.endsWith('.json'))
    .map((file) => {
      const run = JSON.parse(readFileSync(`${RESULTS}${file}`, 'utf8')) as {
        date: string;
        scenarios: Scenario[];
      };
      return { file, ...run };
    })
    .sort((a, b) => a.date.localeCompare(b.date));
  for (const { file, scenarios } of runs) {
    for (const data of scenarios) found.set(data.scenario, { data, file });
  }
  return found;
}

export function chartRows(): Row[] {
  const s = latestScenarios();
  const rows: Row[] = [];
  const add = (label: string, name: string, pick: (d: Scenario) => number, goal?: number) => {
    const entry = s.get(name);
    const ratio = entry ? pick(entry.data) : Number.NaN;
    if (entry && Number.isFinite(ratio)) rows.push({ label, ratio, goal, source: entry.file });
  };
  type R = Record<string, number>;
  add('trivial start, library / docker run', 'trivial-start', (d) => (d.ratios as R).libraryToDocker!, 0.15);
  add('Postgres ready / testcontainers', 'postgres-ready', (d) => (d.ratios as R).toTestcontainers!, 0.1);
  add('8 Postgres at once / testcontainers', 'parallel-postgres', (d) => (d.ratios as R).wall!, 0.15);
  add(
    'database per test / container per test',
    'per-test-database',
    (d) => (d.ratios as R | undefined)?.poolToTestcontainersContainer ?? Number.NaN,
    0.05,
  );
  add('a whole suite / testcontainers', 'whole-suite', (d) => d.ratio as number);
  add('3 releases at once / slowest one', 'matrix', (d) => (d.ratios as R).parallel3ToSlowestSingle!, 1.5);
  add('memory per container / Docker', 'memory', (d) => d.ratio as number);
  add('registry pull / skopeo copy', 'pull', (d) => d.ratio as number);
  add(
    'registry pull / skopeo copy + tar -x',
    'pull',
    (d) => (d.ratioToSkopeoAndTar as number | undefined) ?? Number.NaN,
  );
  return rows;
}

const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function renderChart(rows: readonly Row[], caption: string): string {
  const width = 760;
  const left = 270;
  const barArea = width - left - 70;
  const rowH = 34;
  const top = 40;
  const max = Math.max(1.6, ...rows.map((r) => r.ratio));
  const x = (v: number) => left + (v / max) * barArea;
  const parts: string[] = [];
  parts.push(
    `<text x="${left}" y="22" font-size="13" fill="#333">cspec as a fraction of the peer, same run (shorter is better; | goal)</text>`,
  );
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const met = r.goal === undefined ? undefined : r.ratio <= r.goal;
    const color = met === undefined ? '#8a8a8a' : met ? '#2e7d32' : '#c62828';
    parts.push(
      `<text x="${left - 8}" y="${y + 17}" font-size="12" text-anchor="end" fill="#222">${esc(r.label)}</text>`,
    );
    parts.push(
      `<rect x="${left}" y="${y + 4}" width="${Math.max(1, x(r.ratio) - left)}" height="18" fill="${color}"/>`,
    );
    const labelX = Math.max(x(r.ratio), r.goal === undefined ? 0 : x(r.goal)) + 6;
    parts.push(`<text x="${labelX}" y="${y + 17}" font-size="12" fill="#222">${r.ratio}×</text>`);
    if (r.goal !== undefined) {
      parts.push(
        `<line x1="${x(r.goal)}" x2="${x(r.goal)}" y1="${y}" y2="${y + 26}" stroke="#000" stroke-width="2"/>`,
      );
    }
  });
  const baseY = top + rows.length * rowH;
  parts.push(
    `<line x1="${x(1)}" x2="${x(1)}" y1="${top - 4}" y2="${baseY}" stroke="#999" stroke-dasharray="4 3"/>`,
  );
  parts.push(
    `<text x="${x(1)}" y="${baseY + 14}" font-size="11" text-anchor="middle" fill="#666">1× (as fast as the peer)</text>`,
  );
  const captionLines = caption.split('\n');
  captionLines.forEach((line, i) => {
    parts.push(`<text x="8" y="${baseY + 34 + i * 14}" font-size="11" fill="#666">${esc(line)}</text>`);
  });
  const height = baseY + 44 + (captionLines.length - 1) * 14;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="#fff"/>\n${parts.join('\n')}\n</svg>\n`;
}

export function writeChart(): string {
  const rows = chartRows();
  const sources = [...new Set(rows.map((r) => r.source))];
  const file = `${RESULTS}chart.svg`;
  writeFileSync(
    file,
    renderChart(rows, ['from bench/results/:', ...sources.map((s) => `  ${s}`)].join('\n')),
  );
  return file;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.stdout.write(`written: ${writeChart()}\n`);
}

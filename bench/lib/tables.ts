/**
 * What the results-table renderers share: the result file's common fields, markdown tables,
 * number formats and the provenance line. The renderers live in bench/tables.ts and in
 * bench/tables/<area>.ts (one module per area, each exporting `renderers` and optionally
 * `charts`).
 */
import type { ChartSpec } from '../../src/report/charts.js';
import { mean, std } from '../../src/stats.js';

/** What every result file has (bench/lib/results.ts); the rest is the bench's own. */
export interface ResultBase {
  name: string;
  date: string;
  commit: string;
  machine: { cpu: string; cores: number; node: string };
  smoke: boolean;
  /**
   * Recorded before the evidence protocol (bench/README.md, "Protocol"): its tables say so, and
   * bench:tables does not check its commit. A rerun writes the file without it.
   */
  legacy?: boolean;
}

// Each renderer reads its own bench's JSON shape; the shapes are declared next to them.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Renderer = (result: any) => string;
/**
 * A renderer of several sections by name (e.g. the whole table for bench/README.md and one row
 * per method card: 'methods/mixup'); a plain Renderer fills the section named like the result.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type SectionsRenderer = (result: any) => string | Record<string, string>;
/**
 * Charts of a result: Vega-Lite specs (src/report/charts.ts) by file name, rendered by
 * `npm run bench:tables` to bench/results/<file>.svg, which cards and READMEs show as images.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ChartsRenderer = (result: any) => Record<string, ChartSpec>;

/** A count rounded to a whole number, with thousands separators: 14,220. */
export const count = (x: number) => Math.round(x).toLocaleString('en-US');
export const fixed = (x: number | null | undefined, digits: number) =>
  x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits);
export const percent = (x: number | null | undefined, digits = 1) =>
  x === null || x === undefined || !Number.isFinite(x) ? '–' : `${(100 * x).toFixed(digits)}%`;
/** 1e-3, 3e-4, 2.2e-3: learning rates and decays as the grids write them. */
export const sci = (x: number | null | undefined) =>
  x === null || x === undefined ? '–' : x.toExponential(1).replace('.0e', 'e').replace('e+', 'e');

/** A markdown table; `align` per column: 'l' or 'r' (default 'r' but the first column). */
export function markdownTable(header: string[], rows: string[][], align?: ('l' | 'r')[]): string {
  const a = align ?? header.map((_, i) => (i === 0 ? 'l' : 'r'));
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(a.map((x) => (x === 'l' ? ':--' : '--:'))), ...rows.map(line)].join(
    '\n',
  );
}

/**
 * Where a result came from: machine, node, commit, date (and that it is generated); a legacy
 * result (recorded before the evidence protocol) says so in a line of its own first.
 */
export function provenance(r: ResultBase): string {
  const short = r.commit.replace(/^([0-9a-f]{10})[0-9a-f]*/, '$1');
  const footer =
    `_${r.machine.cpu}, ${r.machine.cores} cores, node ${r.machine.node}; commit ${short}; ` +
    `${r.date.slice(0, 10)}. Generated from bench/results/${r.name}.json by \`npm run bench:tables\`._`;
  return r.legacy
    ? `**legacy**: recorded before the evidence protocol, at ${short}.\n\n${footer}`
    : footer;
}

/** Mean and sample standard deviation as `mean ± sd` with `digits` (one value: just the value). */
export function meanSpread(xs: number[], digits = 2, scale = 1): string {
  const finite = xs.filter((x) => Number.isFinite(x)).map((x) => x * scale);
  if (finite.length === 0) return '–';
  if (finite.length === 1) return finite[0].toFixed(digits);
  return `${mean(finite).toFixed(digits)} ± ${std(finite).toFixed(digits)}`;
}

/** `markdown` with the text between the markers of `name` replaced by `table`; null if no markers. */
export function replaceSection(markdown: string, name: string, table: string): string | null {
  const open = `<!-- table:${name} -->`;
  const close = `<!-- /table:${name} -->`;
  const start = markdown.indexOf(open);
  const end = markdown.indexOf(close);
  if (start < 0 || end < start) return null;
  return `${markdown.slice(0, start + open.length)}\n${table}\n${markdown.slice(end)}`;
}

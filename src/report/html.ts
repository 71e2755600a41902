/**
 * One self-contained HTML page per report: a summary table, then sections of text, inline SVG
 * charts and tables, and the report's data as JSON in a `<script type="application/json">`
 * block (for anyone who wants the numbers back). Nothing is fetched: no scripts, fonts or
 * styles from the network, so the file opens offline and can be mailed or archived.
 */
import { writeFileAtomic } from '../train/atomic.js';
import { formatColumnValue } from './format.js';

/** A table: one record per row; columns are the union of the keys, in first-seen order. */
export type TableRow = Record<string, string | number | boolean | null | undefined>;

export interface ReportSection {
  title: string;
  /** Plain text; blank lines separate paragraphs. */
  text?: string;
  /** Rendered charts (from `renderSvg`). */
  svg?: string[];
  table?: TableRow[];
}

export interface HtmlReport {
  title: string;
  /** The summary table at the top of the page. */
  summary: TableRow[];
  sections: ReportSection[];
  /** Anything JSON-serialisable: embedded in the page as `<script id="report-data">`. */
  data?: unknown;
  /** Shown under the title (e.g. when and from what the report was made). */
  subtitle?: string;
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** JSON safe inside a <script> element: no '</script>' or '<!--' can end or hide it. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value ?? null)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** A cell as text: numbers as the column's heading says (src/report/format.ts). */
function cell(column: string, value: TableRow[string]): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return escapeHtml(formatColumnValue(column, value));
  return escapeHtml(String(value));
}

export function renderTable(rows: readonly TableRow[], className = 'table'): string {
  const columns: string[] = [];
  for (const row of rows)
    for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key);
  const head = columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const body = rows
    .map((row) => {
      const cells = columns.map(
        (c) => `<td class="${typeof row[c] === 'number' ? 'num' : ''}">${cell(c, row[c])}</td>`,
      );
      return `<tr>${cells.join('')}</tr>`;
    })
    .join('\n');
  return `<table class="${className}"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function paragraphs(text: string): string {
  return text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .map((p) => `<p>${escapeHtml(p)}</p>`)
    .join('\n');
}

function slug(title: string, i: number): string {
  return `s${i}-${title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')}`;
}

/** The page's style, shared with the viewer (src/report/server.ts). */
export const REPORT_CSS = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #222; background: #fafafa; }
main { max-width: 1320px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 22px; margin: 8px 0 2px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.subtitle { color: #666; margin: 0 0 12px; }
nav a { margin-right: 12px; color: #2a5db0; text-decoration: none; }
table.table { border-collapse: collapse; background: white; margin: 8px 0; font-size: 13px; }
table.table th, table.table td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
table.table td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.table th { background: #f0f0f0; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
.chart { background: white; border: 1px solid #e4e4e4; padding: 6px; overflow-x: auto; max-width: 100%; }
.chart svg { display: block; max-width: 100%; height: auto; }
`;

/** The report as one HTML string. */
export function renderHtmlReport(report: HtmlReport): string {
  const toc = report.sections
    .map((s, i) => `<a href="#${slug(s.title, i)}">${escapeHtml(s.title)}</a>`)
    .join('');
  const sections = report.sections.map((s, i) => renderSection(s, slug(s.title, i))).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(report.title)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<main>
<h1>${escapeHtml(report.title)}</h1>
${report.subtitle ? `<p class="subtitle">${escapeHtml(report.subtitle)}</p>` : ''}
${toc ? `<nav>${toc}</nav>` : ''}
<h2 id="summary">Summary</h2>
${report.summary.length > 0 ? renderTable(report.summary, 'table summary') : '<p>No runs.</p>'}
${sections}
</main>
<script type="application/json" id="report-data">${scriptJson(report.data ?? null)}</script>
</body>
</html>
`;
}

export function renderSection(section: ReportSection, id?: string): string {
  const parts = [
    `<section${id ? ` id="${escapeHtml(id)}"` : ''}>`,
    `<h2>${escapeHtml(section.title)}</h2>`,
  ];
  if (section.text) parts.push(paragraphs(section.text));
  if (section.svg && section.svg.length > 0) {
    parts.push(
      `<div class="charts">${section.svg.map((svg) => `<div class="chart">${svg}</div>`).join('')}</div>`,
    );
  }
  if (section.table && section.table.length > 0) parts.push(renderTable(section.table));
  parts.push('</section>');
  return parts.join('\n');
}

/** Writes the report atomically and returns its path. */
export function writeHtmlReport(path: string, report: HtmlReport): string {
  writeFileAtomic(path, renderHtmlReport(report));
  return path;
}

/**
 * Reports: Vega-Lite charts rendered to SVG, self-contained HTML pages, run-directory reports
 * with a section registry, and the read-only viewer. (The JSONL and CSV loggers are exported
 * from src/index.ts directly.) Names that other areas also use get a prefix here.
 */
export {
  renderSvg,
  trainingCurvesChart,
  scheduleChart,
  tradeoffChart,
  curveComparisonChart,
  accuracySparsityChart,
  layerSparsityChart,
  landscape1dChart,
  landscape2dChart,
  soupChart,
  searchProgressChart,
  lrWdHeatmapChart,
  flatnessScatterChart,
  type ChartSpec,
  type ChartOptions as ReportChartOptions,
  type TrainingPoint,
  type TrainingCurvesOptions,
  type SchedulePoint,
  type ScheduleChartOptions,
  type TradeoffPoint,
  type TradeoffChartOptions,
  type CurvePoint as ComparedCurvePoint,
  type SparsityPoint,
  type SparsityChartOptions,
  type LayerSparsity,
  type Landscape1dPoint,
  type LandscapeChartOptions,
  type Landscape2dCell,
  type Landscape2dOptions,
  type SoupIngredient,
  type SoupResult,
  type SearchTrial,
  type SearchChartOptions,
  type LrWdCell,
  type HeatmapOptions,
  type FlatnessPoint,
  type FlatnessChartOptions,
} from './charts.js';
export {
  renderHtmlReport,
  writeHtmlReport,
  escapeHtml,
  type HtmlReport,
  type ReportSection,
  type TableRow,
} from './html.js';
export {
  registerReportSection,
  buildRunReport,
  summaryRow,
  trainingPoints,
  type SectionBuilder,
  type SectionSource,
  type RunReportOptions,
} from './run-report.js';
export { loadRun, findRuns, isRunDir, type RunData } from './runs.js';
export { startViewer, type Viewer, type ViewerOptions } from './server.js';

/**
 * A run directory's curve.json (written by `anneal curve`, src/tradeoff) becomes the curve
 * report's sections in `anneal report` and `anneal view`; with several such runs, each
 * section's title names its run.
 */
import type { CurveResult } from '../../tradeoff/index.js';
import { curveReportSections } from '../curve-report.js';
import type { ReportSection } from '../html.js';
import { registerReportSection } from '../run-report.js';

registerReportSection('curve.json', async (found) => {
  const sections: ReportSection[] = [];
  for (const { run, data } of found) {
    for (const section of await curveReportSections(data as CurveResult)) {
      sections.push(
        found.length > 1 ? { ...section, title: `${section.title} (${run.name})` } : section,
      );
    }
  }
  return sections;
});

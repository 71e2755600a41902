/**
 * `anneal report <run-dir...> --out report.html`: one self-contained HTML page (summary table,
 * training curves of every run overlaid, and sections for extra files such as a tradeoff
 * curve), viewable offline. Prints the report's path.
 */
import type { Command } from 'commander';
import { writeHtmlReport } from '../report/html.js';
import { buildRunReport } from '../report/run-report.js';
import { loadRun, resolveRuns } from '../report/runs.js';
import { checkOutFile } from '../runs/outputs.js';
import { oneOf } from './parse.js';

interface ReportOptions {
  out: string;
  title?: string;
  x: 'step' | 'time';
}

/** Adds `anneal report` to the program. */
export function addReportCommand(program: Command): Command {
  return program
    .command('report')
    .description(
      'write one self-contained HTML report (summary table and charts) of run directories',
    )
    .argument('<run-dir...>', 'run directories written by `anneal train`, or folders of them')
    .option('--out <file>', 'the HTML file to write', 'report.html')
    .option('--title <text>', 'the title of the page')
    .option(
      '--x <axis>',
      'x axis of the training curves: step or time',
      oneOf(['step', 'time']),
      'step',
    )
    .action(reportCommand);
}

async function reportCommand(dirs: string[], opts: ReportOptions): Promise<void> {
  // The report is regenerated in place (no --overwrite), but never into a directory.
  checkOutFile(opts.out, true);
  const runs = resolveRuns(dirs).map((r) => loadRun(r.path, r.name));
  const report = await buildRunReport(runs, {
    title: opts.title,
    x: opts.x === 'time' ? 'seconds' : 'step',
  });
  writeHtmlReport(opts.out, report);
  console.log(`report: ${opts.out}`);
}

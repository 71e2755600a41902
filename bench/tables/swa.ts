/**
 * SWA and FGE vs the final iterate under the evidence protocol (bench/swa.ts): the protocol's
 * table (arms, the paired verdict of swa - sgd), then each arm's secondary numbers (the run's
 * final SGD iterate, train loss and accuracy, sharpness), mean ± sd over seeds, the paired
 * differences reported without a verdict (fge - sgd; the sharpness of swa - sgd), and FGE's
 * ensemble by number of members. Written into bench/README.md.
 */
import {
  extraNumber as num,
  intervalText,
  pairedValues,
  renderProtocol,
  type ProtocolResult,
  type RunRecord,
} from '../lib/experiment.js';
import { markdownTable, meanSpread, type Renderer, type ResultBase } from '../lib/tables.js';
import { maxOf } from '../../src/stats.js';

const fixed4 = (x: number) => x.toFixed(4);

function renderSwa(r: ProtocolResult & ResultBase): string {
  const perArm = r.protocol.arms.map((arm) => {
    const runs = r.records.filter((x) => x.arm === arm.name);
    const of = (key: string) => runs.map((x) => num(x, key));
    return [
      arm.name,
      meanSpread(runs.map((x) => x.metric)),
      meanSpread(of('finalIterate')),
      meanSpread(of('trainLoss'), 4),
      meanSpread(of('trainAccuracy')),
      meanSpread(of('sharpness'), 4),
    ];
  });
  const sharpness = r.config.sharpness as
    { sigma: number; directions: number; samples: number } | undefined;
  const secondary = markdownTable(
    [
      'arm',
      'test accuracy (%)',
      'final iterate (%)',
      'train loss',
      'train accuracy (%)',
      'sharpness',
    ],
    perArm,
  );
  const byValue = (x: RunRecord) => x.metric;
  const differences = markdownTable(
    ['comparison', 'paired difference [95% CI]'],
    [
      ['fge - sgd, test accuracy (points)', intervalText(pairedValues(r, 'fge', 'sgd', byValue))],
      [
        'swa - sgd, sharpness',
        intervalText(
          pairedValues(r, 'swa', 'sgd', (x) => num(x, 'sharpness')),
          fixed4,
        ),
      ],
      [
        'swa - sgd, train loss',
        intervalText(
          pairedValues(r, 'swa', 'sgd', (x) => num(x, 'trainLoss')),
          fixed4,
        ),
      ],
    ],
  );
  const fgeRuns = r.records.filter((x) => x.arm === 'fge' && Array.isArray(x.extra?.ensemble));
  const members = maxOf([0, ...fgeRuns.map((x) => (x.extra!.ensemble as number[]).length)]);
  const fgeTable = markdownTable(
    ['FGE members k', 'ensemble of the first k (%)', 'member k alone (%)'],
    Array.from({ length: members }, (_, k) => [
      String(k + 1),
      meanSpread(fgeRuns.map((x) => (x.extra!.ensemble as number[])[k] ?? NaN)),
      meanSpread(fgeRuns.map((x) => (x.extra!.members as number[])[k] ?? NaN)),
    ]),
  );
  const what = sharpness
    ? `Sharpness: the mean train-loss increase under ${sharpness.directions} random filter-normalised perturbations of radius ${sharpness.sigma}, on the first ${sharpness.samples.toLocaleString('en-US')} training samples (train loss and accuracy on the same samples), of the weights each arm is evaluated at (sgd: the final iterate; swa: the average; fge: its last snapshot, the run's final iterate). "final iterate": the live SGD weights at the end of each run.`
    : '';
  return [
    renderProtocol(r),
    `Secondary numbers, mean ± sd over seeds (reported without a verdict). ${what}`,
    secondary,
    differences,
    ...(members > 0 ? ['FGE by number of members, mean ± sd over seeds:', fgeTable] : []),
  ].join('\n\n');
}

export const renderers: Record<string, Renderer> = { swa: renderSwa };

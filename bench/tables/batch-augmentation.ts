/**
 * Batch augmentation under the evidence protocol (bench/batch-augmentation.ts): the protocol's
 * table (arms, the paired verdict), then each arm's M, steps, loader samples and views (the
 * samples its gradients saw, M copies each), test accuracy and loss and train loss, mean ± sd
 * over seeds, and the secondary paired differences with their 95% intervals (no verdict but the
 * primary's). Written into bench/README.md.
 */
import {
  intervalText,
  pairedValues,
  renderProtocol,
  type ProtocolResult,
  type RunRecord,
} from '../lib/experiment.js';
import { count, markdownTable, meanSpread, type Renderer, type ResultBase } from '../lib/tables.js';

/** What bench/batch-augmentation.ts keeps in each record's `extra`. */
interface BaExtra {
  m: number;
  steps: number;
  loaderSamples: number;
  views: number;
  testLoss: number;
  trainLoss: number;
  seconds: number;
}

const extraOf = (x: RunRecord) => x.extra as unknown as BaExtra;

function renderBatchAugmentation(r: ProtocolResult & ResultBase): string {
  if (r.records.length === 0) return renderProtocol(r);
  const perArm = markdownTable(
    [
      'arm',
      'M',
      'steps',
      'loader samples',
      'views',
      'test accuracy (%)',
      'test loss',
      'train loss',
      's / run',
    ],
    r.protocol.arms.map((a) => {
      const runs = r.records.filter((x) => x.arm === a.name);
      const m = (a.settings as { m?: number } | undefined)?.m ?? NaN;
      const of = (f: (e: BaExtra) => number) => runs.map((x) => f(extraOf(x)));
      return [
        a.name,
        String(m),
        count(a.steps),
        count(a.steps * (a.samplesPerStep / m)),
        count(a.steps * a.samplesPerStep),
        meanSpread(runs.map((x) => x.metric)),
        meanSpread(
          of((e) => e.testLoss),
          4,
        ),
        meanSpread(
          of((e) => e.trainLoss),
          4,
        ),
        meanSpread(
          of((e) => e.seconds),
          0,
        ),
      ];
    }),
    ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
  const { primary } = r.protocol.claim;
  const names = new Set(r.protocol.arms.map((a) => a.name));
  const comparisons = [
    ['ba_m4', 'm1'],
    ['ba_m2', 'm1'],
    ['ba_m4', 'ba_m2'],
    ['ba_m4', 'm1_long'],
  ].filter(([a, b]) => names.has(a) && names.has(b));
  const differences = markdownTable(
    ['comparison', 'test accuracy difference (points) [95% CI]', 'seeds'],
    comparisons.map(([a, b]) => {
      const d = pairedValues(r, a, b);
      const isPrimary = a === primary.arm && b === primary.baseline;
      return [
        `${a} - ${b}${isPrimary ? ' (primary: the verdict above)' : ''}`,
        intervalText(d, undefined, { seeds: false }),
        String(d.length),
      ];
    }),
    ['l', 'r', 'r'],
  );
  return [
    renderProtocol(r),
    "Per arm, mean ± sd over seeds: M copies of each sample per step, each with its own crop; loader samples are the samples drawn from the data, views the augmented copies the gradients saw (loader samples x M); the train loss is the Trainer's running mean over the current epoch (the whole run for the arms under one epoch; for m1_long, its last, partial epoch):",
    perArm,
    "Paired differences (arm - baseline, by seed), mean [95% t-interval], reported without a verdict but the primary's. m1_long is M = 1 for 4x the steps, as many views as ba_m4: ba_m4 - m1_long asks whether BA beats training longer.",
    differences,
  ].join('\n\n');
}

export const renderers: Record<string, Renderer> = {
  'batch-augmentation': renderBatchAugmentation,
};

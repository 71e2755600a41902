/**
 * Bag of Tricks under the evidence protocol (bench/bag-of-tricks.ts): the protocol's table (arms,
 * the paired verdict of tricks - baseline), then each arm's secondary numbers (test loss, final
 * train loss and accuracy), mean ± sd over seeds, and the paired differences reported without a
 * verdict (zero_gamma - baseline; the test loss of tricks - baseline). Written into
 * bench/README.md.
 */
import {
  extraNumber as num,
  intervalText,
  pairedValues,
  renderProtocol,
  type ProtocolResult,
} from '../lib/experiment.js';
import { markdownTable, meanSpread, type Renderer, type ResultBase } from '../lib/tables.js';

const fixed4 = (x: number) => x.toFixed(4);

function renderBagOfTricks(r: ProtocolResult & ResultBase): string {
  const perArm = r.protocol.arms.map((arm) => {
    const runs = r.records.filter((x) => x.arm === arm.name);
    const of = (key: string) => runs.map((x) => num(x, key));
    const tricks = (arm.settings as { tricks?: string[] } | undefined)?.tricks ?? [];
    return [
      arm.name,
      tricks.length ? tricks.join(', ') : 'none',
      meanSpread(runs.map((x) => x.metric)),
      meanSpread(of('testLoss'), 4),
      meanSpread(of('trainLoss'), 4),
      meanSpread(of('trainAccuracy')),
    ];
  });
  const secondary = markdownTable(
    [
      'arm',
      'tricks',
      'test accuracy (%)',
      'test loss',
      'train loss (last epoch)',
      'train accuracy (%, last epoch)',
    ],
    perArm,
    ['l', 'l', 'r', 'r', 'r', 'r'],
  );
  const differences = markdownTable(
    ['comparison', 'paired difference [95% CI]'],
    [
      [
        'zero_gamma - baseline, test accuracy (points)',
        intervalText(pairedValues(r, 'zero_gamma', 'baseline')),
      ],
      [
        'tricks - baseline, test loss',
        intervalText(
          pairedValues(r, 'tricks', 'baseline', (x) => num(x, 'testLoss')),
          fixed4,
        ),
      ],
      [
        'zero_gamma - baseline, test loss',
        intervalText(
          pairedValues(r, 'zero_gamma', 'baseline', (x) => num(x, 'testLoss')),
          fixed4,
        ),
      ],
    ],
  );
  return [
    renderProtocol(r),
    'Secondary numbers, mean ± sd over seeds (reported without a verdict). Train loss and accuracy: the Trainer’s means over the last epoch, on the smoothed targets in the arms with label smoothing (so their train loss is not comparable with the others’).',
    secondary,
    differences,
  ].join('\n\n');
}

export const renderers: Record<string, Renderer> = { 'bag-of-tricks': renderBagOfTricks };

/**
 * Entropy-SGD and Replicated-SGD vs SGD at equal gradient evaluations under the evidence protocol
 * (bench/entropy-sgd.ts): the protocol's table (arms, the paired verdict of entropy_sgd - sgd, an
 * equivalence), then each arm's secondary numbers (train loss and accuracy on the whole training
 * set, perturbation sharpness, local entropy), mean ± sd over seeds, and the paired differences
 * reported without a verdict (replicated_sgd - sgd in test accuracy; both methods' flatness and
 * train loss minus SGD's). Written into bench/README.md.
 */
import {
  extraNumber as num,
  intervalText,
  pairedValues,
  renderProtocol,
  type ProtocolResult,
} from '../lib/experiment.js';
import { markdownTable, meanSpread, type Renderer, type ResultBase } from '../lib/tables.js';
import { mean, std } from '../../src/stats.js';

/** A number in `digits` significant digits (flatness values span decades and signs). */
const sig = (x: number, digits: number) => {
  if (x === 0) return '0';
  return Math.abs(x) >= 1e-3 && Math.abs(x) < 1e4 ? x.toPrecision(digits) : x.toExponential(2);
};

/** mean ± sd over the finite values, in significant digits. */
function spread(xs: number[], digits = 3): string {
  const finite = xs.filter((x) => Number.isFinite(x));
  if (finite.length === 0) return '–';
  if (finite.length === 1) return sig(finite[0], digits);
  return `${sig(mean(finite), digits)} ± ${sig(std(finite), 2)}`;
}

interface Flatness {
  samples: number;
  sharpness: { sigma: number; directions: number; filterNormalized: boolean };
  localEntropy: { gamma: number; steps: number; eta: number; noise: number };
}

function renderEntropySgd(r: ProtocolResult & ResultBase): string {
  const perArm = r.protocol.arms.map((arm) => {
    const runs = r.records.filter((x) => x.arm === arm.name);
    const of = (key: string) => runs.map((x) => num(x, key));
    const outer = of('outerSteps').find((x) => Number.isFinite(x));
    return [
      arm.name,
      outer === undefined ? '–' : outer.toLocaleString('en-US'),
      meanSpread(runs.map((x) => x.metric)),
      spread(of('trainLoss')),
      meanSpread(of('trainAccuracy')),
      spread(of('sharpness')),
      spread(of('localEntropy')),
    ];
  });
  const secondary = markdownTable(
    [
      'arm',
      'outer steps',
      'test accuracy (%)',
      'train loss',
      'train accuracy (%)',
      'sharpness',
      'local entropy',
    ],
    perArm,
  );
  const points = (x: number) => x.toFixed(2);
  const small = (x: number) => sig(x, 3);
  const rows: string[][] = [
    [
      'replicated_sgd - sgd, test accuracy (points)',
      intervalText(pairedValues(r, 'replicated_sgd', 'sgd'), points),
    ],
  ];
  for (const arm of ['entropy_sgd', 'replicated_sgd']) {
    rows.push(
      [
        `${arm} - sgd, sharpness`,
        intervalText(
          pairedValues(r, arm, 'sgd', (x) => num(x, 'sharpness')),
          small,
        ),
      ],
      [
        `${arm} - sgd, local entropy`,
        intervalText(
          pairedValues(r, arm, 'sgd', (x) => num(x, 'localEntropy')),
          small,
        ),
      ],
      [
        `${arm} - sgd, train loss`,
        intervalText(
          pairedValues(r, arm, 'sgd', (x) => num(x, 'trainLoss')),
          small,
        ),
      ],
    );
  }
  const differences = markdownTable(['comparison', 'paired difference [95% CI]'], rows);
  const f = r.config.flatness as Flatness | undefined;
  const what = f
    ? `Train loss and accuracy: the whole training set. Sharpness: the mean train-loss increase under ${f.sharpness.directions} random ${f.sharpness.filterNormalized ? 'filter-normalised ' : ''}perturbations of radius ${f.sharpness.sigma}; local entropy: the mean train-loss increase along ${f.localEntropy.steps} full-batch Langevin steps around the solution (gamma ${f.localEntropy.gamma}, step ${f.localEntropy.eta}, noise ${f.localEntropy.noise}; lower = flatter, negative = lower loss nearby); both on the first ${f.samples.toLocaleString('en-US')} training samples, seeded by the run's seed, at the weights each arm is evaluated at (entropy_sgd: the outer weights x; replicated_sgd: the centre of the replicas). Every arm takes the same number of gradient evaluations; "outer steps" is how many updates of the evaluated weights they bought.`
    : '';
  return [
    renderProtocol(r),
    `Secondary numbers, mean ± sd over seeds (reported without a verdict). ${what}`,
    secondary,
    differences,
  ].join('\n\n');
}

export const renderers: Record<string, Renderer> = { 'entropy-sgd': renderEntropySgd };

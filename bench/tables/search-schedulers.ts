/**
 * MORL vs successive halving and Hyperband under the evidence protocol
 * (bench/search-schedulers.ts): the protocol's table (arms, the paired verdict of morl - sha),
 * then per scheduler the pick's test accuracy beside what the search cost (steps, epochs,
 * trials, jobs), the other paired differences without a verdict, and every seed's pick.
 * Written into bench/README.md.
 */
import { mean } from '../../src/stats.js';
import { renderProtocol, type ProtocolResult, type RunRecord } from '../lib/experiment.js';
import {
  count,
  fixed,
  markdownTable,
  meanSpread,
  sci,
  type Renderer,
  type ResultBase,
} from '../lib/tables.js';

/** What bench/search-schedulers.ts keeps of each run besides its metric. */
export interface SearchSchedulersExtra {
  pick: { trial: number; lr: number; weightDecay: number; resource: number };
  valAccuracy: number;
  searchSteps: number;
  plannedSearchSteps: number;
  retrainSteps: number;
  epochs: number;
  trials: number;
  failed: number;
  jobs: number;
  searchSeconds: number;
  retrainSeconds: number;
}

const extra = (r: RunRecord) => r.extra as unknown as SearchSchedulersExtra;
const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;

/** `mean` of a per-run count, as a whole number when every run has the same. */
function counts(xs: number[]): string {
  if (xs.length === 0) return '–';
  return xs.every((x) => x === xs[0]) ? count(xs[0]) : `${fixed(mean(xs), 1)} (mean)`;
}

function renderSearchSchedulers(r: ProtocolResult & ResultBase): string {
  const arms = r.protocol.arms.map((a) => a.name);
  const runs = (arm: string) =>
    r.records.filter((x) => x.arm === arm).sort((a, b) => a.seed - b.seed);
  const perScheduler = markdownTable(
    [
      'scheduler',
      'seeds',
      'test acc of pick, retrained (%)',
      'val acc of pick (%)',
      'steps a search',
      'epochs a search',
      'trials',
      'jobs',
      'failed',
      'search s',
    ],
    arms.map((arm) => {
      const xs = runs(arm);
      const e = xs.map(extra);
      return [
        arm,
        String(xs.length),
        meanSpread(xs.map((x) => x.metric)),
        meanSpread(e.map((x) => x.valAccuracy)),
        counts(e.map((x) => x.searchSteps)),
        counts(e.map((x) => x.epochs)),
        counts(e.map((x) => x.trials)),
        counts(e.map((x) => x.jobs)),
        String(e.reduce((n, x) => n + x.failed, 0)),
        e.length ? fixed(mean(e.map((x) => x.searchSeconds)), 0) : '–',
      ];
    }),
  );

  // The other pairs, paired by seed, without a verdict; and how often two schedulers agreed.
  const { arm: primaryArm, baseline } = r.protocol.claim.primary;
  // arm - baseline for every arm, then the primary arm against each other arm.
  const others = arms.filter((a) => a !== primaryArm && a !== baseline);
  const pairs = [
    [primaryArm, baseline] as const,
    ...others.map((o) => [o, baseline] as const),
    ...others.map((o) => [primaryArm, o] as const),
  ];
  // The same sampled values (a trial's values depend only on the search seed and its id).
  const samePick = (x: RunRecord, y: RunRecord) =>
    extra(x).pick.lr === extra(y).pick.lr &&
    extra(x).pick.weightDecay === extra(y).pick.weightDecay;
  const pairLines = pairs.map(([a, b]) => {
    const at = new Map(runs(b).map((x) => [x.seed, x]));
    const both = runs(a).filter((x) => at.has(x.seed));
    const diffs = both.map((x) => x.metric - at.get(x.seed)!.metric);
    const same = both.filter((x) => samePick(x, at.get(x.seed)!));
    const primary = a === primaryArm && b === baseline;
    return (
      `- ${a} - ${b}: ${diffs.length ? signed(mean(diffs)) : '–'} points over ${diffs.length} paired seeds` +
      `${primary ? ' (the primary comparison: its verdict is above)' : ''}; ` +
      `the same configuration picked in ${same.length} of ${both.length} seeds`
    );
  });

  const seeds = [...new Set(r.records.map((x) => x.seed))].sort((a, b) => a - b);
  const picks = markdownTable(
    ['seed', 'scheduler', 'lr', 'weight decay', 'trial', 'picked at (ep)', 'val acc', 'test acc'],
    seeds.flatMap((seed) =>
      arms.flatMap((arm) => {
        const x = r.records.find((y) => y.arm === arm && y.seed === seed);
        if (!x) return [];
        const e = extra(x);
        return [
          [
            String(seed),
            arm,
            sci(e.pick.lr),
            sci(e.pick.weightDecay),
            String(e.pick.trial),
            String(e.pick.resource),
            fixed(e.valAccuracy, 2),
            fixed(x.metric, 2),
          ],
        ];
      }),
    ),
    ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r'],
  );

  return [
    renderProtocol(r),
    'Per scheduler, mean ± sd over search seeds: the pick retrained at the full budget and tested, ' +
      'its validation accuracy in the search, and what one search trained (steps: the sum over ' +
      "trials of the optimizer steps each trained; the arm's steps above add the retraining):",
    perScheduler,
    'Paired by search seed, reported without a verdict:',
    pairLines.join('\n'),
    'Every pick:',
    picks,
  ].join('\n\n');
}

export const renderers: Record<string, Renderer> = {
  'search-schedulers': renderSearchSchedulers,
};

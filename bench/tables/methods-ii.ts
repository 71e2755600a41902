/**
 * The training-methods-II results (bench/methods-ii.ts): adversarial training with and without
 * early stopping on robust validation accuracy, NoiLIn and ALASCA under label noise, and
 * reinitialisation with and without label noise. Three sections, written into the method cards
 * (src/methods/adversarial, noilin, alasca, reinit, shrink-perturb).
 */
import {
  markdownTable,
  meanSpread,
  percent,
  provenance,
  type ResultBase,
  type SectionsRenderer,
} from '../lib/tables.js';
import type { AdversarialRun } from '../methods-ii.js';

export interface MethodsIiResult extends ResultBase {
  config: {
    model: { name: string; hidden: number[] };
    batchSize: number;
    optimizer: { name: string; lr: number };
    seeds: number[];
    adversarial: {
      trainSamples: number;
      valSamples: number;
      testSamples: number;
      epochs: number;
      trainAttack: { epsilon: number; norm: string; steps: number };
      evalAttack: { epsilon: number; norm: string; steps: number };
      patience: number;
    };
    noise: { trainSamples: number; valSamples: number; testSamples: number; epochs: number };
  };
  engine: { backend: string; kernels: string };
  /** Wall-clock minutes, and CPU minutes of the process (the compute on a shared machine). */
  minutes: { adversarial: number; noise: number; total: number; cpu?: number };
  adversarial: AdversarialRun[];
  noise: {
    method: string;
    rate: number;
    runs: { seed: number; finalTest: number; bestTest: number }[];
  }[];
}

const pct = (xs: number[]) => meanSpread(xs, 1, 100);

function budgetLine(r: MethodsIiResult): string {
  return (
    `Full run: ${r.minutes.total.toFixed(1)} min wall clock on this machine (adversarial ` +
    `${r.minutes.adversarial.toFixed(1)}, label noise ${r.minutes.noise.toFixed(1)})` +
    (r.minutes.cpu === undefined ? '' : `, ${r.minutes.cpu.toFixed(1)} min of CPU`) +
    `; tfjs ${r.engine.backend}, ${r.engine.kernels} kernels, ` +
    `seeds ${r.config.seeds.join(', ')}. Produced by \`npm run bench:methods-ii\`.`
  );
}

function renderAdversarial(r: MethodsIiResult): string {
  const c = r.config.adversarial;
  const runs = r.adversarial;
  const epochs = runs[0]?.epochs.map((e) => e.epoch) ?? [];
  // Every few epochs, plus the last: mean over seeds.
  const step = Math.max(1, Math.round(epochs.length / 8));
  const shown = epochs.filter((_, i) => i % step === step - 1 || i === epochs.length - 1);
  const at = (
    epoch: number,
    key: 'trainRobust' | 'valRobust' | 'testRobust' | 'testClean' | 'gap',
  ) => runs.map((run) => run.epochs.find((e) => e.epoch === epoch)?.[key] ?? NaN);
  const curve = markdownTable(
    [
      'epoch',
      'train robust',
      'val robust',
      'test robust',
      'test clean',
      'robust gap (train - val)',
    ],
    shown.map((e) => [
      String(e),
      pct(at(e, 'trainRobust')),
      pct(at(e, 'valRobust')),
      pct(at(e, 'testRobust')),
      pct(at(e, 'testClean')),
      pct(at(e, 'gap')),
    ]),
  );
  const stops = runs.map((run) => run.patienceStopEpoch);
  const summary = markdownTable(
    ['test robust accuracy', 'mean ± sd over seeds', 'epochs trained'],
    [
      ['no early stopping (last epoch)', pct(runs.map((x) => x.lastTestRobust)), String(c.epochs)],
      [
        'early stopping, best-robust weights restored',
        pct(runs.map((x) => x.restoredTestRobust)),
        `best at ${runs.map((x) => x.bestEpoch).join(', ')}`,
      ],
      [
        `patience ${c.patience} would have stopped at`,
        '(same weights)',
        stops.map((s) => (s === null ? 'never' : String(s))).join(', '),
      ],
    ],
    ['l', 'r', 'r'],
  );
  const a = c.trainAttack;
  return [
    `MLP ${r.config.model.hidden.join('-')} on ${c.trainSamples} MNIST training samples (validation ` +
      `${c.valSamples}, test ${c.testSamples}), pixels in [0, 1]; PGD-${a.steps} ${a.norm} eps ${a.epsilon} ` +
      `adversarial training for ${c.epochs} epochs, robust accuracy under PGD-${c.evalAttack.steps} ` +
      `(${r.config.optimizer.name} lr ${r.config.optimizer.lr}, batch ${r.config.batchSize}).`,
    '',
    curve,
    '',
    summary,
    '',
    budgetLine(r),
    '',
    provenance(r),
  ].join('\n');
}

function noiseTable(r: MethodsIiResult, methods: (m: string) => boolean): string {
  const rows = r.noise.filter((row) => methods(row.method));
  const rates = [...new Set(rows.map((row) => row.rate))].sort((x, y) => x - y);
  const names = [...new Set(rows.map((row) => row.method))];
  const cell = (m: string, rate: number, key: 'finalTest' | 'bestTest') => {
    const row = rows.find((x) => x.method === m && x.rate === rate);
    return row ? pct(row.runs.map((run) => run[key])) : '–';
  };
  const header = [
    'method',
    ...rates.flatMap((rate) => [
      `${percent(rate, 0)} noise: final`,
      `${percent(rate, 0)}: best epoch`,
    ]),
  ];
  const body = names.map((m) => [
    m,
    ...rates.flatMap((rate) => [cell(m, rate, 'finalTest'), cell(m, rate, 'bestTest')]),
  ]);
  const c = r.config.noise;
  return [
    `Clean test accuracy (%, mean ± sd over seeds ${r.config.seeds.join(', ')}) of the MLP ` +
      `${r.config.model.hidden.join('-')} after ${c.epochs} epochs on ${c.trainSamples} MNIST samples ` +
      `with symmetric label noise (test ${c.testSamples}, clean validation ${c.valSamples}); "best ` +
      'epoch" is the highest test accuracy of any epoch (what an oracle stop would keep).',
    '',
    markdownTable(header, body),
    '',
    budgetLine(r),
    '',
    provenance(r),
  ].join('\n');
}

const NOISE_METHODS = new Set(['baseline', 'noilin', 'alasca']);
const REINIT_METHODS = new Set([
  'baseline',
  'shrink-perturb',
  'reinit last layer',
  'reinit layer-wise',
]);

export const renderers: Record<string, SectionsRenderer> = {
  'methods-ii': (r: MethodsIiResult) => ({
    'methods-ii-adversarial': renderAdversarial(r),
    'methods-ii-noise': noiseTable(r, (m) => NOISE_METHODS.has(m)),
    'methods-ii-reinit': noiseTable(r, (m) => REINIT_METHODS.has(m)),
  }),
};

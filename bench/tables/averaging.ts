/**
 * The weight-averaging and flatness results (bench/averaging.ts): SWA, FGE and soups into
 * src/averaging/README.md, sharpness of SWA vs SGD and the flatness-generalisation correlation
 * into src/flatness/README.md.
 */
import {
  fixed,
  markdownTable,
  meanSpread,
  provenance,
  type Renderer,
  type ResultBase,
} from '../lib/tables.js';
import { mean, minOf, std } from '../../src/stats.js';

interface Shared extends ResultBase {
  config: {
    trainSamples: number;
    heldOutSamples: number;
    testSamples: number;
    flatnessSamples: number;
    model: { name: string; hidden: number[] };
    seeds: number[];
    swa: {
      lr: number;
      settings: { epochs: number; start: string; interval: string; swaLr: number }[];
    };
    fge: { warmEpochs: number; cycleEpochs: number; cycles: number; lr1: number; lr2: number };
    soups: { pretrainEpochs: number; fineTuneEpochs: number; fineTunes: unknown[] };
    correlation: { epochs: number; grid: unknown[]; seeds: number[] };
  };
  engine: { backend: string; kernels: string };
  totalMinutes: number;
}

export interface AveragingResult extends Shared {
  swa: {
    runs: {
      setting: number;
      seed: number;
      sgdFinal: number;
      swa: number;
      sgdCosine: number;
      sgdTrain: number;
      relativeDistance: number;
    }[];
  };
  fge: { runs: { seed: number; members: number[]; ensemble: number[]; finalIterate: number }[] };
  soups: {
    runs: {
      seed: number;
      fineTunes: { lr: number; weightDecay: number; test: number; heldOut: number }[];
      bestSingle: { index: number; test: number };
      uniform: { test: number; heldOut: number };
      greedy: { test: number; heldOut: number; members: number[] };
    }[];
  };
}

export interface FlatnessResult extends Shared {
  sharpness: {
    setting: number;
    seed: number;
    sgd: Record<string, number>;
    swa: Record<string, number>;
  }[];
  correlation: {
    models: { testAccuracy: number }[];
    taus: { measure: string; models: number; tauTestAccuracy: number; tauGap: number }[];
  };
}

const pct = (xs: number[]) => meanSpread(xs, 2, 100);

/** mean ± sd with 3 significant digits (the measures span many orders of magnitude). */
function sig(xs: number[]): string {
  const finite = xs.filter((x) => Number.isFinite(x));
  if (finite.length === 0) return '–';
  if (finite.length === 1) return finite[0].toPrecision(3);
  return `${mean(finite).toPrecision(3)} ± ${std(finite).toPrecision(2)}`;
}

function setting(r: Shared): string {
  const c = r.config;
  return (
    `MNIST: ${c.trainSamples} training samples, ${c.heldOutSamples} held-out training samples, ` +
    `${c.testSamples} test samples; MLP ${c.model.hidden.join('-')} hidden; SGD momentum 0.9, ` +
    `batch 64; seeds ${c.seeds.join(', ')}; tfjs ${r.engine.backend}, ${r.engine.kernels} kernels; ` +
    `${fixed(r.totalMinutes, 1)} min for the whole bench.`
  );
}

export const renderAveraging: Renderer = (r: AveragingResult) => {
  const c = r.config;
  const settingLabel = (i: number) => {
    const st = c.swa.settings[i];
    return `${st.epochs} ep; from ${st.start}, SWA lr ${st.swaLr}, snapshot every ${st.interval}`;
  };
  const swa = markdownTable(
    [
      'budget and SWA setting (SGD lr ' + c.swa.lr + ')',
      'SGD final iterate %',
      'SWA %',
      'SGD cosine %',
      'SGD train acc. %',
      'distance SWA-SGD / norm SGD',
    ],
    c.swa.settings.map((_, i) => {
      const runs = r.swa.runs.filter((x) => x.setting === i);
      return [
        settingLabel(i),
        pct(runs.map((x) => x.sgdFinal)),
        pct(runs.map((x) => x.swa)),
        pct(runs.map((x) => x.sgdCosine)),
        pct(runs.map((x) => x.sgdTrain)),
        meanSpread(
          runs.map((x) => x.relativeDistance),
          4,
        ),
      ];
    }),
  );
  const k = minOf(r.fge.runs.map((x) => x.ensemble.length));
  const fge = markdownTable(
    ['FGE members', 'ensemble test accuracy %', 'member alone %'],
    [
      ...Array.from({ length: k }, (_, i) => [
        String(i + 1),
        pct(r.fge.runs.map((x) => x.ensemble[i])),
        pct(r.fge.runs.map((x) => x.members[i])),
      ]),
      ['final iterate (one model, same budget)', '', pct(r.fge.runs.map((x) => x.finalIterate))],
    ],
  );
  const soups = markdownTable(
    ['model', 'test accuracy %', 'held-out accuracy %'],
    [
      [
        'best single fine-tuned model (by held-out accuracy)',
        pct(r.soups.runs.map((x) => x.bestSingle.test)),
        pct(r.soups.runs.map((x) => x.fineTunes[x.bestSingle.index].heldOut)),
      ],
      [
        `uniform soup (all ${c.soups.fineTunes.length})`,
        pct(r.soups.runs.map((x) => x.uniform.test)),
        pct(r.soups.runs.map((x) => x.uniform.heldOut)),
      ],
      [
        `greedy soup (${r.soups.runs.map((x) => x.greedy.members.length).join(', ')} members)`,
        pct(r.soups.runs.map((x) => x.greedy.test)),
        pct(r.soups.runs.map((x) => x.greedy.heldOut)),
      ],
    ],
  );
  return [
    setting(r),
    '',
    '**SWA** vs the final SGD iterate of the same run (SWALR from the start of averaging) and vs SGD with cosine decay, at the same budget:',
    '',
    swa,
    '',
    `**FGE** (${c.fge.warmEpochs} warm-up epochs, then ${c.fge.cycles} cycles of ${c.fge.cycleEpochs} epochs, lr ${c.fge.lr1} -> ${c.fge.lr2}):`,
    '',
    fge,
    '',
    `**Model soups** (${c.soups.fineTunes.length} fine-tunings of ${c.soups.fineTuneEpochs} epochs from one ${c.soups.pretrainEpochs}-epoch model, different lr / weight decay / data order):`,
    '',
    soups,
    '',
    provenance(r),
  ].join('\n');
};

export const renderFlatness: Renderer = (r: FlatnessResult) => {
  const measures = r.correlation.taus.map((t) => t.measure);
  const settings = r.config.swa.settings;
  const sharp = markdownTable(
    [
      'measure (larger = sharper)',
      ...settings.flatMap((st) => [`SGD, ${st.epochs} ep`, `SWA, ${st.epochs} ep`]),
    ],
    measures.map((m) => [
      m,
      ...settings.flatMap((_, i) => {
        const runs = r.sharpness.filter((x) => x.setting === i);
        return [sig(runs.map((x) => x.sgd[m])), sig(runs.map((x) => x.swa[m]))];
      }),
    ]),
  );
  const taus = markdownTable(
    ['measure', 'Kendall tau with test accuracy', 'Kendall tau with train-test gap'],
    r.correlation.taus.map((t) => [t.measure, fixed(t.tauTestAccuracy, 2), fixed(t.tauGap, 2)]),
  );
  const c = r.config;
  return [
    setting(r),
    `Measures on the first ${c.flatnessSamples} training samples.`,
    '',
    '**Sharpness of the SWA and SGD solutions** (the runs of the SWA table in src/averaging/README.md):',
    '',
    sharp,
    '',
    `**Flatness vs generalisation**: ${r.correlation.taus[0]?.models ?? 0} of ${r.correlation.models.length} models ranked, diverged ones left out (${c.correlation.grid.length} settings of lr, batch size and weight decay x seeds ${c.correlation.seeds.join(', ')}, ${c.correlation.epochs} epochs each). A negative tau with test accuracy means flatter models generalised better:`,
    '',
    taus,
    '',
    provenance(r),
  ].join('\n');
};

export const renderers: Record<string, Renderer> = {
  averaging: renderAveraging,
  flatness: renderFlatness,
};

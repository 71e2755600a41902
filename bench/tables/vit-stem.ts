/**
 * The ViT stem study (bench/vit-stem.ts): accuracy per stem, optimizer and learning rate, and
 * each stem's sensitivity to the learning rate (spread over the sweep) and to the optimizer
 * (best AdamW - best SGD), per schedule length.
 */
import type { VitStemRow } from '../vit-stem.js';
import { markdownTable, provenance, sci, type Renderer, type ResultBase } from '../lib/tables.js';
import { minOf, maxOf } from '../../src/stats.js';

export interface VitStemResult extends ResultBase {
  config: {
    trainSamples: number;
    testSamples: number;
    batchSize: number;
    seed: number;
    sweeps: Record<string, number[]>;
    lengths: number[];
    schedule: string;
  };
  minutes: number;
  rows: VitStemRow[];
}

const pct = (x: number) => (100 * x).toFixed(2);

/** Spread of accuracy over the lr sweep and the optimizer gap, per stem and length. */
export function vitStemSensitivity(rows: readonly VitStemRow[]) {
  const keys = [...new Set(rows.map((r) => `${r.epochs}|${r.stem}`))];
  return keys.map((key) => {
    const [epochs, stem] = key.split('|');
    const of = (optimizer: string) =>
      rows
        .filter((r) => `${r.epochs}|${r.stem}` === key && r.optimizer === optimizer)
        .map((r) => r.accuracy);
    const adamw = of('adamw');
    const sgd = of('momentum');
    const spread = (xs: number[]) => maxOf(xs) - minOf(xs);
    return {
      epochs: Number(epochs),
      stem,
      bestAdamw: maxOf(adamw),
      bestSgd: maxOf(sgd),
      lrSpreadAdamw: spread(adamw),
      lrSpreadSgd: spread(sgd),
      optimizerGap: maxOf(adamw) - maxOf(sgd),
    };
  });
}

function renderVitStem(r: VitStemResult): string {
  const c = r.config;
  const combos = [...new Set(r.rows.map((x) => `${x.optimizer} ${sci(x.lr)}`))];
  const grid = markdownTable(
    ['epochs', 'stem', ...combos.map((k) => `${k}, %`)],
    [...new Set(r.rows.map((x) => `${x.epochs}|${x.stem}`))].map((key) => {
      const [epochs, stem] = key.split('|');
      return [
        epochs,
        stem,
        ...combos.map((k) => {
          const row = r.rows.find(
            (x) => `${x.epochs}|${x.stem}` === key && `${x.optimizer} ${sci(x.lr)}` === k,
          );
          return row ? pct(row.accuracy) : '–';
        }),
      ];
    }),
    ['l', 'l', ...combos.map(() => 'r' as const)],
  );
  const sensitivity = markdownTable(
    [
      'epochs',
      'stem',
      'best AdamW, %',
      'best SGD, %',
      'AdamW lr spread, pt',
      'SGD lr spread, pt',
      'AdamW - SGD, pt',
    ],
    vitStemSensitivity(r.rows).map((s) => [
      String(s.epochs),
      s.stem,
      pct(s.bestAdamw),
      pct(s.bestSgd),
      pct(s.lrSpreadAdamw),
      pct(s.lrSpreadSgd),
      pct(s.optimizerGap),
    ]),
    ['l', 'l', 'r', 'r', 'r', 'r', 'r'],
  );
  return [
    `Tiny ViT (dim 64, depth 2, 16 tokens) on MNIST (${c.trainSamples} train / ${c.testSamples} test ` +
      `samples), batch ${c.batchSize}, ${c.schedule}, seed ${c.seed}; test accuracy. ` +
      `${r.minutes.toFixed(1)} minutes in all (on a machine shared with other jobs).`,
    '',
    grid,
    '',
    'Sensitivity (smaller spread and gap: less sensitive):',
    '',
    sensitivity,
    '',
    provenance(r),
  ].join('\n');
}

export const renderers: Record<string, Renderer> = { 'vit-stem': renderVitStem };

/**
 * `anneal soup --checkpoints a b c --held-out val`: model soups (src/averaging/soups.ts) from
 * checkpoints of runs of one architecture. Prints each model's held-out accuracy, the uniform
 * soup's and the greedy soup's (with its members); `--out soup.ck` writes the greedy soup's
 * weights as a checkpoint. The model and data are rebuilt from the first run's recipe.
 */
import { formatPercent } from '../report/format.js';
import { Option, type Command } from 'commander';
import { withWeights } from '../averaging/evaluate.js';
import { evaluateSync } from '../train/evaluate.js';
import { loadRunModel, type RunModel } from '../runs/run-model.js';
import { recipeDataOptions } from '../runs/recipe.js';
import {
  checkSameArchitecture,
  greedySoup,
  readCheckpointWeights,
  uniformSoup,
} from '../averaging/soups.js';
import { loadDataset, sampleSize, type Dataset } from '../data/index.js';
import { UsageError } from '../errors.js';
import { createFlatOps, type KernelChoice } from '../kernels/index.js';
import { saveCheckpoint } from '../train/checkpoint.js';
import { checkOutFile } from '../runs/outputs.js';
import { kernelsOption, oneOf, positiveInt } from './parse.js';
import { maxOf } from '../stats.js';

interface SoupOptions {
  checkpoints: string[];
  heldOut: 'val' | 'test';
  heldOutSize: number;
  out?: string;
  overwrite: boolean;
  kernels?: KernelChoice;
  json: boolean;
}

/** A plain text table: columns padded to their widest cell, numbers right-aligned. */
export function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, maxOf(rows.map((r) => r[i].length))));
  const numeric = header.map((_, i) => rows.every((r) => /^-?[\d.e+-]+$|^-$/.test(r[i])));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function addSoupCommand(program: Command): Command {
  return program
    .command('soup')
    .description(
      'model soups: the uniform and the greedy soup (Wortsman et al. 2022) of checkpoints of one ' +
        'architecture, with held-out accuracies',
    )
    .requiredOption('--checkpoints <paths...>', 'checkpoint files, checkpoint directories or runs')
    .addOption(
      new Option(
        '--held-out <split>',
        "held-out data: 'val' = training samples after the runs' --limit (never trained on), 'test' = the test split",
      )
        .argParser(oneOf(['val', 'test'] as const))
        .default('val'),
    )
    .option('--held-out-size <n>', 'held-out samples', positiveInt, 1000)
    .option('--out <file>', 'write the greedy soup as a checkpoint (.ck)')
    .option('--overwrite', 'replace an existing --out file', false)
    .addOption(kernelsOption())
    .option('--json', 'print JSON', false)
    .action(soupCommand);
}

async function heldOutData(run: RunModel, which: 'val' | 'test', size: number): Promise<Dataset> {
  const { name, limit } = run.recipe.data;
  const options = recipeDataOptions(run.recipe);
  if (which === 'test') {
    return run.test.length > size
      ? await loadDataset(name, {
          ...options,
          split: 'test',
          limit: size,
          seed: run.recipe.seed + 1,
        })
      : run.test;
  }
  if (limit === undefined || name === 'synthetic') {
    throw new UsageError(
      'ANNEAL_NO_HELD_OUT',
      `--held-out val needs training samples the runs never saw, but ${
        name === 'synthetic'
          ? 'synthetic data are regenerated per size'
          : `the runs trained on the whole ${name} train split (no --limit)`
      }; use --held-out test, or train with --limit`,
    );
  }
  const all = await loadDataset(name, { ...options, split: 'train', limit: limit + size });
  if (all.length <= limit) {
    throw new UsageError(
      'ANNEAL_NO_HELD_OUT',
      `--held-out val: the ${name} train split has ${all.length} samples, all used by the runs (--limit ${limit}); use --held-out test`,
    );
  }
  const n = all.length - limit;
  const px = sampleSize(all.shape);
  return {
    ...all,
    images: all.images.slice(limit * px),
    labels: all.labels.slice(limit),
    length: n,
  };
}

export async function soupCommand(opts: SoupOptions): Promise<void> {
  if (opts.out) checkOutFile(opts.out, opts.overwrite);
  // Every checkpoint is read and checked before any model is built.
  const sets = opts.checkpoints.map((p) => readCheckpointWeights(p));
  for (const s of sets.slice(1)) checkSameArchitecture(sets[0], s);
  const ops = createFlatOps(opts.kernels);
  let run: RunModel | null = null;
  try {
    run = await loadRunModel(opts.checkpoints[0], ops);
    const { model, pv, train } = run;
    const heldOut = await heldOutData(run, opts.heldOut, opts.heldOutSize);
    const accuracy = (params: Float32Array) =>
      withWeights(model, pv, params, () => evaluateSync(model, heldOut).accuracy, {
        refreshData: train,
      });
    const greedy = greedySoup(ops, sets, accuracy);
    const uniformAccuracy = accuracy(uniformSoup(ops, sets));
    const best = maxOf(greedy.scores);
    if (opts.out) {
      saveCheckpoint(opts.out, {
        tensors: sets[0].segments.map((s, i) => {
          const offset = sets[0].segments
            .slice(0, i)
            .reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
          const length = s.shape.reduce((a, b) => a * b, 1);
          return {
            name: `param:${s.name}`,
            shape: [...s.shape],
            data: greedy.soup.subarray(offset, offset + length),
          };
        }),
        meta: {
          kind: 'anneal-soup',
          members: greedy.members.map((i) => sets[i].source),
          heldOutAccuracy: greedy.score,
        },
      });
    }
    const result = {
      heldOut: { split: opts.heldOut, samples: heldOut.length },
      models: sets.map((s, i) => ({ checkpoint: s.source, accuracy: greedy.scores[i] })),
      bestSingle: best,
      uniform: { accuracy: uniformAccuracy, members: sets.length },
      greedy: {
        accuracy: greedy.score,
        members: greedy.members.map((i) => sets[i].source),
        trace: greedy.trace,
      },
      out: opts.out ?? null,
    };
    if (opts.json) {
      console.log(JSON.stringify(result, null, 2));
      return;
    }
    // What each model did to the greedy soup: the score of the soup with it, and the decision.
    const tried = new Map(greedy.trace.map((t, k) => [t.candidate, { ...t, first: k === 0 }]));
    const decision = (i: number) => {
      const t = tried.get(i)!;
      if (t.first) return 'first (best alone)';
      return `${formatPercent(t.tried)} ${t.added ? 'kept' : 'left out'}`;
    };
    const rows = [
      ...sets.map((s, i) => [s.source, formatPercent(greedy.scores[i]), decision(i)]),
      [`uniform soup (${sets.length} models)`, formatPercent(uniformAccuracy), ''],
      [
        `greedy soup (${greedy.members.length}: ${greedy.members.map((i) => i + 1).join(', ')})`,
        formatPercent(greedy.score),
        '',
      ],
    ];
    console.log(`held-out: ${opts.heldOut} (${heldOut.length} samples)`);
    console.log(textTable(['model', 'held-out accuracy', 'greedy soup with it'], rows));
    if (opts.out) console.log(`greedy soup written to ${opts.out}`);
  } finally {
    run?.pv.dispose();
    run?.model.dispose();
    ops.dispose();
  }
}

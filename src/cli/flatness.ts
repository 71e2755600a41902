/**
 * `anneal flatness --checkpoint run/ckpt --measures sharpness,local-entropy,hessian-top`: the
 * flatness measures (src/flatness/measures.ts) of a trained model on a subset of its training
 * (or test) data, printed as a table. `anneal landscape`: 1-D slices, the line and a trained
 * Bezier curve between two solutions, the plane through three, as data (JSON) and a table.
 * The model and data are rebuilt from the (first) run's recipe.
 */
import { Option, type Command } from 'commander';
import { loadRunModel, type RunModel } from '../runs/run-model.js';
import { checkSameArchitecture, readCheckpointWeights } from '../averaging/soups.js';
import { UsageError } from '../errors.js';
import { evaluateBezier, trainBezierCurve } from '../flatness/connectivity.js';
import { lineSlice, plane2d, randomSlice, type Plane, type Slice } from '../flatness/landscape.js';
import { FLATNESS_MEASURES, measureFlatness, parseMeasures } from '../flatness/measures.js';
import { ModelObjective } from '../flatness/objective.js';
import { createFlatOps, type FlatVector, type KernelChoice } from '../kernels/index.js';
import { writeJsonAtomic } from '../runs/run-dir.js';
import { checkOutFile } from '../runs/outputs.js';
import { nonNegativeInt, kernelsOption, oneOf, positiveInt, positiveNumber } from './parse.js';
import { textTable } from './soup.js';
import { minOf, maxOf } from '../stats.js';

interface FlatnessOptions {
  checkpoint: string;
  measures: string;
  split: 'train' | 'test';
  samples: number;
  seed: number;
  epsilon?: number;
  sigma?: number;
  gamma?: number;
  kernels?: KernelChoice;
  json: boolean;
}

export function addFlatnessCommand(program: Command): Command {
  return program
    .command('flatness')
    .description(
      'flatness measures of a trained model (sharpness, random-perturbation sharpness, Hessian ' +
        'top eigenvalue, local entropy) on a subset of its data',
    )
    .requiredOption('--checkpoint <path>', 'a checkpoint file, checkpoint directory or run')
    .option(
      '--measures <list>',
      `comma list of ${FLATNESS_MEASURES.join(', ')}, or all`,
      'sharpness,local-entropy,hessian-top',
    )
    .addOption(
      new Option('--split <split>', 'data the loss is measured on')
        .argParser(oneOf(['train', 'test'] as const))
        .default('train'),
    )
    .option('--samples <n>', 'samples of the split (the first n)', positiveInt, 1000)
    .option('--seed <n>', 'seed of the random directions and Langevin noise', nonNegativeInt, 0)
    .option('--epsilon <x>', 'epsilon-sharpness radius in (0, 1] (default 1e-3)', positiveNumber)
    .option(
      '--sigma <x>',
      'perturbation sigma (default 0.01; 0.1 filter-normalised)',
      positiveNumber,
    )
    .option('--gamma <x>', 'local-entropy coupling (default 100)', positiveNumber)
    .addOption(kernelsOption())
    .option('--json', 'print JSON', false)
    .action(flatnessCommand);
}

export async function flatnessCommand(opts: FlatnessOptions): Promise<void> {
  const measures = parseMeasures(opts.measures);
  const ops = createFlatOps(opts.kernels);
  let run: RunModel | null = null;
  let objective: ModelObjective | null = null;
  try {
    run = await loadRunModel(opts.checkpoint, ops);
    const data = opts.split === 'train' ? run.train : run.test;
    objective = new ModelObjective(run.model, data, ops, { limit: opts.samples });
    const rows = measureFlatness(objective, objective.initial, measures, {
      seed: opts.seed,
      epsilon: opts.epsilon,
      sigma: opts.sigma,
      gamma: opts.gamma,
    });
    const base = objective.evaluate(objective.initial);
    if (opts.json) {
      console.log(
        JSON.stringify(
          {
            checkpoint: run.weights.source,
            split: opts.split,
            samples: objective.data.length,
            base,
            rows,
          },
          null,
          2,
        ),
      );
      return;
    }
    console.log(
      `${run.weights.source}: ${opts.split} loss ${base.loss.toFixed(4)}, accuracy ` +
        `${base.accuracy.toFixed(4)} on ${objective.data.length} samples`,
    );
    console.log(
      textTable(
        ['measure', 'value', 'what'],
        rows.map((r) => [r.measure, r.value.toPrecision(4), r.what]),
      ),
    );
  } finally {
    objective?.dispose();
    run?.pv.dispose();
    run?.model.dispose();
    ops.dispose();
  }
}

interface LandscapeOptions {
  checkpoints: string[];
  kind: 'slice' | 'line' | 'bezier' | 'plane';
  points: number;
  split: 'train' | 'test';
  samples: number;
  seed: number;
  steps: number;
  lr: number;
  out?: string;
  overwrite: boolean;
  kernels?: KernelChoice;
}

const LANDSCAPE_CHECKPOINTS = { slice: 1, line: 2, bezier: 2, plane: 3 } as const;

export function addLandscapeCommand(program: Command): Command {
  return program
    .command('landscape')
    .description(
      'loss landscapes as data: a 1-D slice along a random filter-normalised direction, the line ' +
        'or a trained Bezier curve between two solutions, or the plane through three',
    )
    .requiredOption(
      '--checkpoints <paths...>',
      'one (slice), two (line, bezier) or three (plane) checkpoints',
    )
    .addOption(
      new Option('--kind <kind>', 'what to evaluate')
        .argParser(oneOf(['slice', 'line', 'bezier', 'plane'] as const))
        .default('slice'),
    )
    .option('--points <n>', 'points along the path (per side of the plane grid)', positiveInt, 21)
    .addOption(
      new Option('--split <split>', 'data the loss is measured on')
        .argParser(oneOf(['train', 'test'] as const))
        .default('train'),
    )
    .option('--samples <n>', 'samples of the split (the first n)', positiveInt, 1000)
    .option('--seed <n>', 'seed of the direction / the Bezier training', nonNegativeInt, 0)
    .option('--steps <n>', 'Bezier training steps', positiveInt, 200)
    .option('--lr <x>', 'Bezier training learning rate', positiveNumber, 0.05)
    .option('--out <file>', 'write the grid as JSON')
    .option('--overwrite', 'replace an existing --out file', false)
    .addOption(kernelsOption())
    .action(landscapeCommand);
}

export async function landscapeCommand(opts: LandscapeOptions): Promise<void> {
  if (opts.out) checkOutFile(opts.out, opts.overwrite);
  const needed = LANDSCAPE_CHECKPOINTS[opts.kind];
  if (opts.checkpoints.length !== needed) {
    throw new UsageError(
      'ANNEAL_BAD_OPTION',
      `--kind ${opts.kind} needs ${needed} checkpoint(s), got ${opts.checkpoints.length}; pass --checkpoints with ${needed}`,
    );
  }
  if (opts.points < 2) {
    throw new UsageError(
      'ANNEAL_BAD_OPTION',
      `--points ${opts.points} is too few: expected at least 2`,
    );
  }
  const sets = opts.checkpoints.map((p) => readCheckpointWeights(p));
  for (const s of sets.slice(1)) checkSameArchitecture(sets[0], s);
  const ops = createFlatOps(opts.kernels);
  let run: RunModel | null = null;
  let objective: ModelObjective | null = null;
  const vectors: FlatVector[] = [];
  try {
    run = await loadRunModel(opts.checkpoints[0], ops);
    const data = opts.split === 'train' ? run.train : run.test;
    objective = new ModelObjective(run.model, data, ops, { limit: opts.samples });
    const obj = objective;
    for (const s of sets) vectors.push(ops.fromArray(s.params));
    const [a, b, c] = vectors;
    let result: Record<string, unknown>;
    let path: Slice | null = null;
    if (opts.kind === 'slice') {
      path = randomSlice(obj, a, { points: opts.points, seed: opts.seed });
      result = { kind: 'slice', filterNormalized: true, ...path };
    } else if (opts.kind === 'line') {
      path = lineSlice(obj, a, b, { points: opts.points });
      result = { kind: 'line', ...path };
    } else if (opts.kind === 'bezier') {
      const { bend, losses } = trainBezierCurve(obj, a, b, {
        steps: opts.steps,
        lr: opts.lr,
        batchSize: 128,
        seed: opts.seed,
      });
      vectors.push(bend);
      path = evaluateBezier(obj, a, bend, b, opts.points);
      const line = lineSlice(obj, a, b, { points: opts.points });
      result = { kind: 'bezier', ...path, line, trainingLosses: losses };
    } else {
      result = { kind: 'plane', ...plane2d(obj, a, b, c, { points: opts.points }) };
    }
    const full = {
      checkpoints: sets.map((s) => s.source),
      split: opts.split,
      samples: obj.data.length,
      ...result,
    };
    if (opts.out) writeJsonAtomic(opts.out, full);
    if (path) {
      console.log(
        textTable(
          [opts.kind === 'bezier' ? 't' : 'alpha', 'loss', 'accuracy'],
          path.alphas.map((x, i) => [
            x.toFixed(3),
            path!.losses[i].toFixed(4),
            path!.accuracies[i].toFixed(4),
          ]),
        ),
      );
    } else {
      const plane = result as unknown as Plane;
      const flat = plane.losses.flat();
      console.log(
        `plane through ${sets.length} solutions at ${plane.solutions.map(([x, y]) => `(${x.toFixed(3)}, ${y.toFixed(3)})`).join(', ')}: ` +
          `${plane.as.length} x ${plane.bs.length} grid, loss ${minOf(flat).toFixed(4)} to ${maxOf(flat).toFixed(4)}`,
      );
    }
    if (opts.out) console.log(`grid written to ${opts.out}`);
  } finally {
    for (const v of vectors) if (v.alive) ops.free(v);
    objective?.dispose();
    run?.pv.dispose();
    run?.model.dispose();
    ops.dispose();
  }
}

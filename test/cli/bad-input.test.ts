/**
 * Bad input to every command and option of `anneal`, table-driven: each case must give exit 2,
 * exactly one line on stderr, no stack trace, and leave its output location (a fresh folder per
 * case) and the shared fixtures as they were.
 *
 * The options come from commander's own definitions (buildProgram), so an option added without
 * a row here fails 'every option has a row'. Rows list a few malformed values of the kinds that
 * make sense for the option (zero, negative, NaN, huge, wrong type, unknown name, a missing
 * file, a directory where a file belongs, a file where a directory belongs, ...); boolean flags
 * and free-text options have a row saying why there is nothing to malform. Generated for every
 * command besides: an unknown option, each value option given without its value, each mandatory
 * option or argument left out.
 *
 * Cases run in this process (test/cli/in-process.ts): a process per case takes over ten minutes.
 * A sample is also run as real processes (test/cli/helpers.ts's `anneal`). Inputs that violate
 * the contract because of a known bug are not run: they go in KNOWN_DEFECTS, listed as todo
 * tests, each with its command line and what it does. 'Huge' means a value beyond what the
 * option can hold (1e400 is Infinity, a fraction of 5); a size the parser accepts but whose plan
 * runs away (--limit 1e9, --mult 1e9) is a 'runaway' case, refused by the plan check.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Command } from 'commander';
import * as tfl from '@tensorflow/tfjs-layers';
import { buildProgram } from '../../src/cli/program.js';
import { tfjsArtifacts, writeTfjsModel } from '../io/helpers.js';
import { anneal, assertUserError, root } from './helpers.js';
import { runCli, type InProcessResult } from './in-process.js';
import { greyPng, rgbPng } from '../data/own-data.js';

process.env.ANNEAL_KERNELS = 'js';
// Decoded images are cached here, not in the user's cache folder (no case may write one).
const cacheHome = mkdtempSync(join(tmpdir(), 'anneal-bad-input-cache-'));
process.env.XDG_CACHE_HOME = cacheHome;

// ---------------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------------

/**
 * Placeholders in arguments, replaced when a case runs:
 *   $FIX  the shared fixtures folder (files below), never changed by any case
 *   $RUN  a finished `anneal train` run in it (synthetic data, mlp, 64 samples, 1 epoch)
 *   $OUT  the case's own output path, inside a fresh folder that must end as it began
 */
const FIXTURE_FILES: Record<string, string> = {
  'not-anneal.txt': 'not a file anneal wrote\n',
  'space.json': JSON.stringify({
    'optimizer.lr': { type: 'loguniform', low: 1e-4, high: 0.1 },
  }),
  'space-bad-json.json': '{"optimizer.lr": {',
  'space-empty.json': '{}',
  'space-unknown-field.json': JSON.stringify({
    'optimizer.lrr': { type: 'loguniform', low: 1e-4, high: 0.1 },
  }),
  'space-bad-type.json': JSON.stringify({ 'optimizer.lr': { type: 'gaussian', mean: 0.1 } }),
  'space-reversed.json': JSON.stringify({
    'optimizer.lr': { type: 'loguniform', low: 0.1, high: 1e-4 },
  }),
  'space-negative.json': JSON.stringify({
    'optimizer.lr': { type: 'loguniform', low: -1, high: 0.1 },
  }),
  'recipe-bad-json.json': '{"model": ',
  'recipe-bad-yaml.yaml': 'model: [mlp\n',
  'recipe-wrong-type.json': JSON.stringify({ batchSize: 'large' }),
  'recipe-unknown-key.yaml': 'model: mlp\nbatchsize: 32\n',
  'recipe-negative.json': JSON.stringify({ batchSize: -64 }),
  'recipe-unknown-model.json': JSON.stringify({ model: 'transformerxl' }),
  'recipe-not-object.json': '[1, 2, 3]',
  'graph-model.json': JSON.stringify({
    format: 'graph-model',
    modelTopology: { node: [] },
    weightsManifest: [],
  }),
  'recipe-other-mlp.yaml': [
    'data: { name: synthetic, limit: 64, testLimit: 32 }',
    'model: { name: mlp, options: { hidden: [8] } }',
    'duration: 1ep',
    '',
  ].join('\n'),
};

type Kind =
  | 'zero'
  | 'negative'
  | 'nan'
  | 'huge'
  | 'wrong type'
  | 'not an integer'
  | 'out of range'
  | 'unknown name'
  | 'empty'
  | 'bad syntax'
  | 'missing file'
  | 'directory for a file'
  | 'file for a directory'
  | 'not anneal output'
  | 'exists'
  | 'conflict'
  | 'no value'
  | 'omitted'
  | 'unknown option'
  | 'unknown command'
  /** Accepted by the parser, but a plan past the limits (src/cli/plan.ts): refused up front. */
  | 'runaway'
  /** A user's own data (image-folder, csv) that cannot be read as one: fixtures made in before(). */
  | 'bad data';

interface Case {
  kind: Kind;
  /** The option (or argument) and its value(s), put after the command's base arguments. */
  args: string[];
  /** Base options to leave out too (ones that conflict with this case). */
  drop?: string[];
  /** Made at $OUT before the run (then it must be unchanged after it). */
  prepare?: 'file' | 'directory' | 'folder with a file';
}

type Row =
  | { cases: Case[] }
  /** Nothing to malform: a boolean flag (why in the text). */
  | { flag: string }
  /** Takes a value, but none is malformed (why in the text). */
  | { none: string };

/** A base option and its value(s); a key in <> or [] is a positional argument (values only). */
type Pair = [string, ...string[]];

interface CommandTable {
  /** Valid together, small, and writing only under $OUT: a case changes one option of these. */
  base: Pair[];
  rows: Record<string, Row>;
}

/** The queue flags of search and curve (src/cli/queue-flags.ts). */
function queueRows(): Record<string, Row> {
  return {
    '--redis': {
      cases: [
        SYNTAX('--redis', 'http://127.0.0.1:6379'),
        SYNTAX('--redis', 'redis://'),
        SYNTAX('--redis', 'redis://127.0.0.1:6379/db'),
      ],
    },
    // The queue's other flags go with --redis.
    '--redis-ca': { cases: [{ kind: 'conflict', args: ['--redis-ca', '$FIX/missing'] }] },
    '--queue': { cases: [{ kind: 'conflict', args: ['--queue', 'sweeps'] }] },
    '--shared-dir': { cases: [{ kind: 'conflict', args: ['--shared-dir', '$FIX/empty-dir'] }] },
  };
}

/** What `anneal search --resume` takes from the search it continues: left out of its cases. */
const SEARCH_SETTINGS = [
  '--data',
  '--model',
  '--limit',
  '--space',
  '--scheduler',
  '--configs',
  '--max-resource',
  '--min-resource',
  '--out',
];

const ZERO = (o: string, v = '0'): Case => ({ kind: 'zero', args: [o, v] });
const NEG = (o: string, v = '-1'): Case => ({ kind: 'negative', args: [o, v] });
const NAN = (o: string): Case => ({ kind: 'nan', args: [o, 'NaN'] });
const HUGE = (o: string, v = '1e400'): Case => ({ kind: 'huge', args: [o, v] });
const TYPE = (o: string, v = 'many'): Case => ({ kind: 'wrong type', args: [o, v] });
const FRAC = (o: string, v = '1.5'): Case => ({ kind: 'not an integer', args: [o, v] });
const UNKNOWN = (o: string, v: string): Case => ({ kind: 'unknown name', args: [o, v] });
const EMPTY = (o: string): Case => ({ kind: 'empty', args: [o, ''] });
const RUNAWAY = (o: string, v: string): Case => ({ kind: 'runaway', args: [o, v] });
const SYNTAX = (o: string, v: string): Case => ({ kind: 'bad syntax', args: [o, v] });
const RANGE = (o: string, v: string): Case => ({ kind: 'out of range', args: [o, v] });
const MISSING = (o: string): Case => ({ kind: 'missing file', args: [o, '$FIX/missing'] });
const DIR_FOR_FILE = (o: string): Case => ({
  kind: 'directory for a file',
  args: [o, '$FIX/empty-dir'],
});
const FILE_FOR_DIR = (o: string, v = '$FIX/not-anneal.txt'): Case => ({
  kind: 'file for a directory',
  args: [o, v],
});

/** A positive integer: zero, negative, NaN, huge, a fraction, a word. */
const positiveInt = (o: string): Case[] => [ZERO(o), NEG(o), NAN(o), HUGE(o), FRAC(o), TYPE(o)];

/** A fraction in (0, 1): zero, negative, one, NaN, too big, a word. */
const fraction = (o: string): Case[] => [
  ZERO(o),
  NEG(o, '-0.1'),
  RANGE(o, '1'),
  NAN(o),
  HUGE(o, '5'),
  TYPE(o),
];
/** An integer >= 0: zero is valid. */
const nonNegativeInt = (o: string): Case[] => [NEG(o), NAN(o), HUGE(o), FRAC(o), TYPE(o)];
/** A positive number. */
const positiveNumber = (o: string): Case[] => [ZERO(o), NEG(o), NAN(o), HUGE(o), TYPE(o)];
/** A number >= 0. */
const nonNegativeNumber = (o: string): Case[] => [NEG(o), NAN(o), HUGE(o), TYPE(o)];
/** One of a list of names. */
const choice = (o: string, bad: string): Case[] => [UNKNOWN(o, bad), EMPTY(o)];
/** A duration such as '1ep'. */
const duration = (o: string): Case[] => [
  ZERO(o, '0ep'),
  NEG(o, '-1ep'),
  TYPE(o, 'often'),
  HUGE(o, '1e400ep'),
  UNKNOWN(o, '3weeks'),
  { kind: 'wrong type', args: [o, '2.5ba'] },
];
/** An output directory ($OUT in the base): a file there, or a folder anneal did not make. */
const outDir = (o = '--out'): Case[] => [
  { kind: 'file for a directory', args: [o, '$OUT'], prepare: 'file' },
  { kind: 'not anneal output', args: [o, '$OUT'], prepare: 'folder with a file' },
  { kind: 'file for a directory', args: [o, '$FIX/not-anneal.txt/run'] },
];
/** An output file ($OUT in the base): a directory there, an existing file, a file as its folder. */
const outFile = (o = '--out'): Case[] => [
  { kind: 'directory for a file', args: [o, '$OUT'], prepare: 'directory' },
  { kind: 'exists', args: [o, '$OUT'], prepare: 'file' },
  { kind: 'file for a directory', args: [o, '$FIX/not-anneal.txt/out'] },
];
const recipeFile = (o = '--recipe'): Case[] => [
  MISSING(o),
  DIR_FOR_FILE(o),
  SYNTAX(o, '$FIX/recipe-bad-json.json'),
  SYNTAX(o, '$FIX/recipe-bad-yaml.yaml'),
  TYPE(o, '$FIX/recipe-wrong-type.json'),
  TYPE(o, '$FIX/recipe-not-object.json'),
  UNKNOWN(o, '$FIX/recipe-unknown-key.yaml'),
  UNKNOWN(o, '$FIX/recipe-unknown-model.json'),
  { kind: 'negative', args: [o, '$FIX/recipe-negative.json'] },
];
/** A checkpoint, checkpoint directory or run to read. */
const checkpointInput = (o: string): Case[] => [
  MISSING(o),
  { kind: 'directory for a file', args: [o, '$FIX/empty-dir'] },
  { kind: 'wrong type', args: [o, '$FIX/not-anneal.txt'] },
  EMPTY(o),
];

/**
 * A user's model (`anneal train --model m.json`, written in before() by tfjs's own saver): missing,
 * not a model, a graph model, the wrong input shape or class count for the base's synthetic data
 * ([8, 8, 1], 4 classes), and a method that rewrites the model.
 */
const USER_MODEL_CASES: Case[] = [
  { kind: 'missing file', args: ['--model', '$FIX/missing/model.json'] },
  { kind: 'wrong type', args: ['--model', '$FIX/space.json'] },
  { kind: 'wrong type', args: ['--model', '$FIX/graph-model.json'] },
  { kind: 'conflict', args: ['--model', '$FIX/user-model-shape/model.json'] },
  { kind: 'conflict', args: ['--model', '$FIX/user-model-classes/model.json'] },
  { kind: 'conflict', args: ['--model', '$FIX/user-model/model.json', '--methods', 'blurpool'] },
];

/**
 * Data of the user's own that anneal must refuse in one line (issue 19): the image-folder and
 * csv fixtures are written in before().
 */
const OWN_DATA_CASES: Case[] = [
  ['image-folder', '$FIX/if-empty-class'],
  ['image-folder', '$FIX/if-corrupt'],
  ['image-folder', '$FIX/if-unreadable'],
  ['image-folder', '$FIX/if-mixed'],
  ['image-folder', '$FIX/if-one-class'],
  ['csv', '$FIX/csv-short-row.csv'],
  ['csv', '$FIX/csv-word.csv'],
  ['csv', '$FIX/csv-no-label.csv'],
  ['csv', '$FIX/csv-one-class.csv'],
].map(([data, dir]) => ({
  kind: 'bad data' as const,
  drop: ['--data'],
  args: ['--data-dir', dir, '--data', data],
}));

/** The recipe flags (src/cli/recipe-flags.ts) of train, lr-find, search and curve (prune: --threads). */
const RECIPE_ROWS: Record<string, Row> = {
  '--recipe': { cases: recipeFile() },
  '--data': { cases: choice('--data', 'imagenet') },
  '--data-dir': {
    cases: [
      {
        ...MISSING('--data-dir'),
        drop: ['--data'],
        args: ['--data-dir', '$FIX/missing', '--data', 'fashion-mnist'],
      },
      {
        ...FILE_FOR_DIR('--data-dir'),
        drop: ['--data'],
        args: ['--data-dir', '$FIX/not-anneal.txt', '--data', 'fashion-mnist'],
      },
      // A folder without the dataset's files.
      {
        kind: 'missing file',
        drop: ['--data'],
        args: ['--data-dir', '$FIX/empty-dir', '--data', 'fashion-mnist'],
      },
      ...OWN_DATA_CASES,
    ],
  },
  '--image-size': {
    cases: [
      ZERO('--image-size'),
      NEG('--image-size'),
      TYPE('--image-size', 'big'),
      SYNTAX('--image-size', '28x'),
      SYNTAX('--image-size', '2x3x4'),
      // Synthetic data (the base) are not resized.
      { kind: 'conflict', args: ['--image-size', '28'] },
    ],
  },
  '--grayscale': { flag: 'a boolean flag: it takes no value' },
  '--val-fraction': {
    cases: [...fraction('--val-fraction'), { kind: 'conflict', args: ['--val-fraction', '0.2'] }],
  },
  '--cache-dir': {
    cases: [
      { kind: 'conflict', args: ['--cache-dir', '$FIX/empty-dir'] },
      {
        ...FILE_FOR_DIR('--cache-dir'),
        drop: ['--data'],
        args: [
          ...['--cache-dir', '$FIX/not-anneal.txt'],
          ...['--data', 'image-folder', '--data-dir', '$FIX/if-good'],
        ],
      },
    ],
  },
  '--label-column': {
    cases: [
      { kind: 'conflict', args: ['--label-column', 'label'] },
      {
        kind: 'unknown name',
        drop: ['--data'],
        args: ['--label-column', 'species', '--data', 'csv', '--data-dir', '$FIX/csv-good.csv'],
      },
      {
        kind: 'empty',
        drop: ['--data'],
        args: ['--label-column', '', '--data', 'csv', '--data-dir', '$FIX/csv-good.csv'],
      },
    ],
  },
  '--model': { cases: choice('--model', 'transformerxl') },
  '--epochs': { cases: positiveInt('--epochs') },
  '--duration': {
    cases: [
      ...duration('--duration').map((c) => ({ ...c, drop: ['--epochs'] })),
      { kind: 'conflict', args: ['--duration', '1ep'] },
    ],
  },
  '--batch-size': { cases: positiveInt('--batch-size') },
  '--optimizer': {
    cases: [...choice('--optimizer', 'adamx'), UNKNOWN('--optimizer', 'lookahead_')],
  },
  '--lr': { cases: positiveNumber('--lr') },
  '--weight-decay': { cases: nonNegativeNumber('--weight-decay') },
  '--schedule': {
    cases: [
      ...choice('--schedule', 'cosinee'),
      SYNTAX('--schedule', '{"name":"cosine"'),
      TYPE('--schedule', '{"name":3}'),
      TYPE('--schedule', '{"name":"cosine","warmup":"soon"}'),
      UNKNOWN('--schedule', '{"name":"cosine","warmpu":"1ep"}'),
      NEG('--schedule', '{"name":"cosine","warmup":"-1ep"}'),
    ],
  },
  '--methods': {
    cases: [
      ...choice('--methods', 'label-smothing'),
      SYNTAX('--methods', '[{"name":"mixup"'),
      TYPE('--methods', '[3]'),
      TYPE('--methods', '{"name":"mixup"}'),
      TYPE('--methods', '[{"name":"mixup","alpha":"big"}]'),
      NEG('--methods', '[{"name":"mixup","alpha":-1}]'),
      ZERO('--methods', '[{"name":"batch-augmentation","m":0}]'),
      UNKNOWN('--methods', '[{"name":"mixup","alpah":0.4}]'),
      // blurpool on an MLP has nothing to blur.
      { kind: 'conflict', args: ['--methods', 'blurpool'] },
    ],
  },
  '--seed': { cases: nonNegativeInt('--seed') },
  '--backend': { cases: choice('--backend', 'tensorflowjs') },
  '--kernels': { cases: choice('--kernels', 'gpu') },
  '--threads': { cases: [...positiveInt('--threads'), EMPTY('--threads')] },
  // Synthetic data of 1e9 samples would take about 240 GB.
  '--limit': { cases: [...positiveInt('--limit'), RUNAWAY('--limit', '1e9')] },
  '--test-limit': { cases: positiveInt('--test-limit') },
  '--label-noise': {
    cases: [
      NEG('--label-noise', '-0.1'),
      RANGE('--label-noise', '1.5'),
      NAN('--label-noise'),
      HUGE('--label-noise'),
      TYPE('--label-noise', 'some'),
      UNKNOWN('--label-noise', 'diagonal:0.2'),
      EMPTY('--label-noise'),
      SYNTAX('--label-noise', 'pairflip:'),
    ],
  },
  '--eval-interval': { cases: duration('--eval-interval') },
  '--checkpoint-interval': { cases: duration('--checkpoint-interval') },
  '--keep-checkpoints': { cases: positiveInt('--keep-checkpoints') },
  '--log-every': { cases: positiveInt('--log-every') },
  '--nan-guard': { cases: choice('--nan-guard', 'sometimes') },
  '--nan-guard-read-every': { cases: positiveInt('--nan-guard-read-every') },
};

/** Rows of `names` from RECIPE_ROWS. */
function recipeRows(...names: string[]): Record<string, Row> {
  return Object.fromEntries(names.map((n) => [n, RECIPE_ROWS[n]]));
}

const NO_VALUE = 'a boolean flag: it takes no value';

const TABLE: Record<string, CommandTable> = {
  '': {
    base: [],
    rows: { '--version': { flag: 'prints the version: it takes no value' } },
  },
  train: {
    base: [
      ['--data', 'synthetic'],
      ['--model', 'mlp'],
      ['--limit', '64'],
      ['--test-limit', '32'],
      ['--epochs', '1'],
      ['--no-progress'],
      ['--out', '$OUT'],
    ],
    rows: {
      ...recipeRows(
        '--recipe',
        '--data',
        '--data-dir',
        '--image-size',
        '--grayscale',
        '--cache-dir',
        '--label-column',
        '--val-fraction',
        '--model',
        '--epochs',
        '--duration',
        '--batch-size',
        '--optimizer',
        '--lr',
        '--weight-decay',
        '--schedule',
        '--methods',
        '--seed',
        '--backend',
        '--threads',
        '--kernels',
        '--limit',
        '--test-limit',
        '--label-noise',
        '--eval-interval',
        '--checkpoint-interval',
        '--keep-checkpoints',
        '--log-every',
        '--nan-guard',
        '--nan-guard-read-every',
      ),
      '--model': { cases: [...choice('--model', 'transformerxl'), ...USER_MODEL_CASES] },
      '--out': { cases: outDir() },
      '--overwrite': { flag: NO_VALUE },
      '--resume': {
        cases: [
          MISSING('--resume'),
          { kind: 'file for a directory', args: ['--resume', '$FIX/not-anneal.txt'] },
          { kind: 'not anneal output', args: ['--resume', '$FIX/empty-dir'] },
          {
            kind: 'conflict',
            args: ['--resume', '$RUN', '--recipe', '$FIX/recipe-other-mlp.yaml'],
          },
          { kind: 'conflict', args: ['--resume', '$RUN', '--lr', '0.5'] },
          { kind: 'conflict', args: ['--resume', '$RUN', '--model', 'cnn'] },
          // The base's --out $OUT is another directory than the run's.
          { kind: 'conflict', args: ['--resume', '$RUN'] },
          { kind: 'conflict', args: ['--resume', '$RUN', '--overwrite'], drop: ['--out'] },
        ],
      },
      '--no-progress': { flag: NO_VALUE },
      '--force': { flag: NO_VALUE },
      '--profile': { flag: NO_VALUE },
    },
  },
  'lr-find': {
    base: [
      ['--data', 'synthetic'],
      ['--model', 'mlp'],
      ['--limit', '64'],
      ['--steps', '5'],
      ['--out', '$OUT'],
    ],
    rows: {
      ...recipeRows(
        '--recipe',
        '--data',
        '--data-dir',
        '--image-size',
        '--grayscale',
        '--cache-dir',
        '--label-column',
        '--val-fraction',
        '--limit',
        '--model',
        '--optimizer',
        '--weight-decay',
        '--batch-size',
        '--seed',
        '--backend',
        '--threads',
        '--kernels',
      ),
      '--min-lr': { cases: positiveNumber('--min-lr') },
      '--max-lr': { cases: positiveNumber('--max-lr') },
      '--steps': { cases: positiveInt('--steps') },
      '--mode': { cases: choice('--mode', 'logarithmic') },
      '--smoothing': {
        cases: [
          NEG('--smoothing', '-0.1'),
          RANGE('--smoothing', '1'),
          NAN('--smoothing'),
          HUGE('--smoothing', '5'),
          TYPE('--smoothing'),
        ],
      },
      '--diverge-threshold': { cases: positiveNumber('--diverge-threshold') },
      // lr-find writes <out>/lr-find.json into any folder (its help says so): only a file is bad.
      '--out': { cases: outDir().filter((c) => c.kind !== 'not anneal output') },
      '--force': { flag: NO_VALUE },
    },
  },
  schedule: {
    base: [
      ['--spec', 'cosine'],
      ['--steps', '10'],
      ['--out', '$OUT'],
    ],
    rows: {
      '--spec': {
        cases: [
          ...choice('--spec', 'cosinee'),
          SYNTAX('--spec', '{"name":"sgdr"'),
          TYPE('--spec', '{"name":"sgdr","t0":"soon"}'),
          UNKNOWN('--spec', '{"name":"sgdr","t_0":"2ba"}'),
          NEG('--spec', '{"name":"cosine","warmup":"-1ba"}'),
          ZERO('--spec', '{"name":"sgdr","t0":"0ba"}'),
        ],
      },
      '--steps': { cases: positiveInt('--steps') },
      '--steps-per-epoch': { cases: positiveInt('--steps-per-epoch') },
      '--batch-size': { cases: positiveInt('--batch-size') },
      '--width': { cases: positiveInt('--width') },
      '--height': { cases: positiveInt('--height') },
      '--out': { cases: outFile() },
      '--overwrite': { flag: NO_VALUE },
    },
  },
  soup: {
    base: [
      ['--checkpoints', '$RUN'],
      ['--held-out', 'test'],
      ['--held-out-size', '16'],
      ['--out', '$OUT'],
    ],
    rows: {
      '--checkpoints': {
        cases: [
          ...checkpointInput('--checkpoints'),
          { kind: 'conflict', args: ['--checkpoints', '$RUN', '$FIX/other-run'] },
          { kind: 'missing file', args: ['--checkpoints', '$RUN', '$FIX/missing'] },
        ],
      },
      '--held-out': {
        cases: [
          ...choice('--held-out', 'train'),
          { kind: 'conflict', args: ['--held-out', 'val'] },
        ],
      },
      '--held-out-size': { cases: positiveInt('--held-out-size') },
      '--out': { cases: outFile() },
      '--overwrite': { flag: NO_VALUE },
      '--kernels': { cases: choice('--kernels', 'gpu') },
      '--json': { flag: NO_VALUE },
    },
  },
  flatness: {
    base: [
      ['--checkpoint', '$RUN'],
      ['--measures', 'sharpness'],
      ['--samples', '16'],
    ],
    rows: {
      '--checkpoint': { cases: checkpointInput('--checkpoint') },
      '--measures': {
        cases: [
          ...choice('--measures', 'smoothness'),
          UNKNOWN('--measures', 'sharpness,smoothness'),
          SYNTAX('--measures', ',,'),
        ],
      },
      '--split': { cases: choice('--split', 'val') },
      '--samples': { cases: positiveInt('--samples') },
      '--seed': { cases: nonNegativeInt('--seed') },
      '--epsilon': { cases: [...positiveNumber('--epsilon'), RANGE('--epsilon', '1e308')] },
      '--sigma': { cases: positiveNumber('--sigma') },
      '--gamma': { cases: positiveNumber('--gamma') },
      '--kernels': { cases: choice('--kernels', 'gpu') },
      '--json': { flag: NO_VALUE },
    },
  },
  landscape: {
    base: [
      ['--checkpoints', '$RUN'],
      ['--kind', 'slice'],
      ['--points', '3'],
      ['--samples', '16'],
      ['--out', '$OUT'],
    ],
    rows: {
      '--checkpoints': {
        cases: [
          ...checkpointInput('--checkpoints'),
          { kind: 'conflict', args: ['--checkpoints', '$RUN', '$RUN'] },
        ],
      },
      '--kind': {
        cases: [...choice('--kind', 'surface'), { kind: 'conflict', args: ['--kind', 'plane'] }],
      },
      '--points': { cases: [...positiveInt('--points'), RANGE('--points', '1')] },
      '--split': { cases: choice('--split', 'val') },
      '--samples': { cases: positiveInt('--samples') },
      '--seed': { cases: nonNegativeInt('--seed') },
      '--steps': { cases: positiveInt('--steps') },
      '--lr': { cases: positiveNumber('--lr') },
      '--out': { cases: outFile() },
      '--overwrite': { flag: NO_VALUE },
      '--kernels': { cases: choice('--kernels', 'gpu') },
    },
  },
  search: {
    base: [
      ['--data', 'synthetic'],
      ['--model', 'mlp'],
      ['--limit', '64'],
      ['--space', '$FIX/space.json'],
      ['--scheduler', 'sha'],
      ['--configs', '2'],
      ['--max-resource', '3ba'],
      ['--min-resource', '1ba'],
      ['--no-live'],
      ['--out', '$OUT'],
    ],
    rows: {
      ...recipeRows(
        '--recipe',
        '--data',
        '--data-dir',
        '--image-size',
        '--grayscale',
        '--cache-dir',
        '--label-column',
        '--limit',
        '--model',
        '--optimizer',
        '--lr',
        '--weight-decay',
        '--schedule',
        '--methods',
        '--batch-size',
        '--backend',
        '--threads',
        '--kernels',
      ),
      '--space': {
        cases: [
          MISSING('--space'),
          DIR_FOR_FILE('--space'),
          SYNTAX('--space', '$FIX/space-bad-json.json'),
          EMPTY('--space'),
          { kind: 'empty', args: ['--space', '$FIX/space-empty.json'] },
          UNKNOWN('--space', '$FIX/space-unknown-field.json'),
          TYPE('--space', '$FIX/space-bad-type.json'),
          RANGE('--space', '$FIX/space-reversed.json'),
          NEG('--space', '$FIX/space-negative.json'),
          TYPE('--space', '$FIX/not-anneal.txt'),
        ],
      },
      '--scheduler': { cases: choice('--scheduler', 'bohb') },
      '--max-resource': { cases: [...duration('--max-resource'), ZERO('--max-resource', '0ba')] },
      '--min-resource': {
        cases: [
          ...duration('--min-resource'),
          ZERO('--min-resource', '0ba'),
          RANGE('--min-resource', '4ba'),
          { kind: 'conflict', args: ['--min-resource', '1ep'] },
        ],
      },
      '--eta': {
        cases: [
          ZERO('--eta'),
          NEG('--eta'),
          RANGE('--eta', '1'),
          NAN('--eta'),
          HUGE('--eta'),
          TYPE('--eta'),
          // Rungs 1.0001 apart: a step between them far below one training step.
          RUNAWAY('--eta', '1.0001'),
        ],
      },
      '--configs': { cases: positiveInt('--configs') },
      '--min-trials': { cases: positiveInt('--min-trials') },
      '--workers': { cases: positiveInt('--workers') },
      '--seed': { cases: nonNegativeInt('--seed') },
      '--val-fraction': { cases: fraction('--val-fraction') },
      '--out': { cases: outDir() },
      '--overwrite': { flag: NO_VALUE },
      '--no-live': { flag: NO_VALUE },
      '--report': { flag: NO_VALUE },
      '--force': { flag: NO_VALUE },
      '--resume': {
        cases: [
          { ...MISSING('--resume'), drop: SEARCH_SETTINGS },
          {
            kind: 'file for a directory',
            args: ['--resume', '$FIX/not-anneal.txt'],
            drop: SEARCH_SETTINGS,
          },
          {
            kind: 'not anneal output',
            args: ['--resume', '$FIX/empty-dir'],
            drop: SEARCH_SETTINGS,
          },
          // The search's settings are its first start's: --resume with --space is refused.
          { kind: 'conflict', args: ['--resume', '$FIX/empty-dir'] },
        ],
      },
      ...queueRows(),
    },
  },
  curve: {
    base: [
      ['--data', 'synthetic'],
      ['--model', 'mlp'],
      ['--limit', '64'],
      ['--test-limit', '32'],
      ['--cycles', '2'],
      ['--first-cycle', '1ba'],
      ['--no-progress'],
      ['--out', '$OUT'],
    ],
    rows: {
      ...recipeRows(
        '--recipe',
        '--data',
        '--data-dir',
        '--image-size',
        '--grayscale',
        '--cache-dir',
        '--label-column',
        '--val-fraction',
        '--limit',
        '--test-limit',
        '--model',
        '--batch-size',
        '--optimizer',
        '--lr',
        '--weight-decay',
        '--seed',
        '--backend',
        '--threads',
        '--kernels',
      ),
      '--model': {
        cases: [
          ...choice('--model', 'transformerxl'),
          // curve builds fresh built-in models: a user's is refused before anything is written.
          { kind: 'conflict', args: ['--model', '$FIX/user-model/model.json'] },
        ],
      },
      '--recipes': {
        cases: [
          ...choice('--recipes', 'bogus'),
          UNKNOWN('--recipes', 'baseline+bogus'),
          SYNTAX('--recipes', 'baseline,,mixup'),
        ],
      },
      '--cycles': { cases: [...positiveInt('--cycles'), RUNAWAY('--cycles', '1000')] },
      '--first-cycle': { cases: [...duration('--first-cycle'), ZERO('--first-cycle', '0ba')] },
      '--mult': { cases: [...positiveNumber('--mult'), RUNAWAY('--mult', '1e9')] },
      '--shape': { cases: choice('--shape', 'square') },
      // '0ep' is valid: no warmup.
      '--cycle-warmup': { cases: duration('--cycle-warmup').filter((c) => c.kind !== 'zero') },
      '--seeds': {
        cases: [
          ZERO('--seeds'),
          NEG('--seeds'),
          NAN('--seeds'),
          HUGE('--seeds'),
          TYPE('--seeds'),
          { kind: 'conflict', args: ['--seeds', '1,1'] },
        ],
      },
      '--force': { flag: NO_VALUE },
      '--multi-run': {
        cases: [
          UNKNOWN('--multi-run', 'bogus'),
          { kind: 'conflict', args: ['--multi-run', 'mixup'] },
        ],
      },
      '--workers': {
        cases: [
          ...positiveInt('--workers'),
          // A queue's runs are trained by its `anneal worker`s, not by local threads.
          { kind: 'conflict', args: ['--workers', '2', '--redis', 'redis://127.0.0.1:1'] },
        ],
      },
      ...queueRows(),
      '--out': { cases: outDir() },
      '--overwrite': { flag: NO_VALUE },
      '--no-progress': { flag: NO_VALUE },
    },
  },
  prune: {
    base: [
      ['--checkpoint', '$RUN'],
      ['--target', '0.5'],
      ['--budget', '0ba'],
      ['--no-progress'],
      ['--out', '$OUT'],
    ],
    rows: {
      '--checkpoint': { cases: checkpointInput('--checkpoint') },
      '--criterion': { cases: choice('--criterion', 'smallest') },
      '--target': {
        cases: [
          ZERO('--target'),
          NEG('--target', '-0.5'),
          RANGE('--target', '1'),
          NAN('--target'),
          HUGE('--target', '5'),
          TYPE('--target'),
        ],
      },
      '--cycles': { cases: [...positiveInt('--cycles'), RUNAWAY('--cycles', '100000')] },
      '--retrain': { cases: choice('--retrain', 'sometimes') },
      // '0ba' is valid: no retraining.
      '--budget': { cases: duration('--budget').filter((c) => c.kind !== 'zero') },
      '--gradient-batches': { cases: positiveInt('--gradient-batches') },
      '--include-first': { flag: NO_VALUE },
      '--include-last': { flag: NO_VALUE },
      '--force': { flag: NO_VALUE },
      '--threads': RECIPE_ROWS['--threads'],
      '--out': { cases: outDir() },
      '--overwrite': { flag: NO_VALUE },
      '--no-progress': { flag: NO_VALUE },
    },
  },
  export: {
    base: [
      ['<run-or-checkpoint>', '$RUN'],
      ['--out', '$OUT'],
    ],
    rows: {
      '<run-or-checkpoint>': {
        cases: [
          MISSING('<run-or-checkpoint>'),
          { kind: 'directory for a file', args: ['<run-or-checkpoint>', '$FIX/empty-dir'] },
          { kind: 'wrong type', args: ['<run-or-checkpoint>', '$FIX/not-anneal.txt'] },
          EMPTY('<run-or-checkpoint>'),
        ],
      },
      '--out': { cases: outDir() },
      '--overwrite': { flag: NO_VALUE },
      '--kernels': { cases: choice('--kernels', 'gpu') },
    },
  },
  report: {
    base: [
      ['<run-dir...>', '$RUN'],
      ['--out', '$OUT'],
    ],
    rows: {
      '<run-dir...>': {
        cases: [
          MISSING('<run-dir...>'),
          { kind: 'not anneal output', args: ['<run-dir...>', '$FIX/empty-dir'] },
          { kind: 'file for a directory', args: ['<run-dir...>', '$FIX/not-anneal.txt'] },
          EMPTY('<run-dir...>'),
        ],
      },
      '--out': {
        cases: [
          { kind: 'directory for a file', args: ['--out', '$OUT'], prepare: 'directory' },
          { kind: 'file for a directory', args: ['--out', '$FIX/not-anneal.txt/report.html'] },
        ],
      },
      '--title': { none: 'free text: any title is valid' },
      '--x': { cases: choice('--x', 'epoch') },
    },
  },
  view: {
    base: [
      ['<runs-dir>', '$FIX'],
      ['--port', '0'],
    ],
    rows: {
      '<runs-dir>': {
        cases: [
          MISSING('<runs-dir>'),
          { kind: 'file for a directory', args: ['<runs-dir>', '$FIX/not-anneal.txt'] },
          EMPTY('<runs-dir>'),
        ],
      },
      '--port': {
        cases: [
          NEG('--port'),
          NAN('--port'),
          HUGE('--port', '70000'),
          FRAC('--port'),
          TYPE('--port', 'http'),
        ],
      },
      '--host': {
        cases: [UNKNOWN('--host', '300.1.2.3'), UNKNOWN('--host', 'no-such-host.invalid')],
      },
      '--x': { cases: choice('--x', 'epoch') },
    },
  },
  // Its base names a Redis where none listens: every case ends before a worker would serve.
  worker: {
    base: [['--redis', 'redis://127.0.0.1:1']],
    rows: {
      '--redis': {
        cases: [
          SYNTAX('--redis', 'http://127.0.0.1:6379'),
          SYNTAX('--redis', 'redis://'),
          SYNTAX('--redis', 'redis://127.0.0.1:6379/db'),
          EMPTY('--redis'),
        ],
      },
      '--redis-ca': {
        cases: [
          {
            ...MISSING('--redis-ca'),
            args: ['--redis-ca', '$FIX/missing', '--redis', 'rediss://127.0.0.1:1'],
            drop: ['--redis'],
          },
          {
            ...DIR_FOR_FILE('--redis-ca'),
            args: ['--redis-ca', '$FIX/empty-dir', '--redis', 'rediss://127.0.0.1:1'],
            drop: ['--redis'],
          },
          { kind: 'conflict', args: ['--redis-ca', '$FIX/not-anneal.txt'] },
        ],
      },
      '--queue': { cases: [SYNTAX('--queue', 'a:b'), EMPTY('--queue')] },
      '--concurrency': { cases: positiveInt('--concurrency') },
      '--shared-dir': { cases: [MISSING('--shared-dir'), FILE_FOR_DIR('--shared-dir')] },
      '--lock-duration': { cases: positiveInt('--lock-duration') },
      '--stalled-interval': { cases: positiveInt('--stalled-interval') },
      '--max-stalled': { cases: positiveInt('--max-stalled') },
      '--threads': { cases: positiveInt('--threads') },
    },
  },
  list: {
    base: [],
    rows: { '[kind]': { cases: [UNKNOWN('[kind]', 'datasets'), EMPTY('[kind]')] } },
  },
  'data info': {
    base: [['--data', 'synthetic']],
    rows: {
      '--data': { cases: choice('--data', 'imagenet') },
      ...recipeRows(
        '--data-dir',
        '--image-size',
        '--grayscale',
        '--val-fraction',
        '--cache-dir',
        '--label-column',
      ),
      '--split': { cases: choice('--split', 'validation') },
      '--json': { flag: NO_VALUE },
    },
  },
};

/**
 * Inputs that break the contract today because of a bug (others are fixing them). They are not
 * run: each is a todo test with its whole command line (base arguments included, placeholders
 * as in the table) and what it does. A defect with `args` of a case in TABLE stands for that
 * case; when it is fixed, delete the entry and the case runs. Runaway ones (a size accepted at
 * parsing, then planned as work that does not end) are not in TABLE and must never be run.
 */
interface KnownDefect {
  command: string;
  option: string;
  /** The case's own arguments, as in its row (or, runaway, as they would be). */
  args: string[];
  drop?: string[];
  observed: string;
  runaway?: true;
}

// Every defect found by this suite has been fixed (each was listed here with what it did); a
// new one goes here until it is.
const KNOWN_DEFECTS: KnownDefect[] = [];

// ---------------------------------------------------------------------------------------------
// commander's definitions
// ---------------------------------------------------------------------------------------------

interface Definition {
  command: string;
  option: string;
  /** Takes a value (<x> required; [x] optional). */
  takesValue: boolean;
  requiredValue: boolean;
  /** Must be given (a mandatory option or a required argument). */
  mandatory: boolean;
  positional: boolean;
}

/** Every (command, option or argument) pair of the program, from commander's own objects. */
function definitions(): Definition[] {
  const found: Definition[] = [];
  const walk = (command: Command, path: string) => {
    for (const o of command.options) {
      found.push({
        command: path,
        option: o.long ?? o.flags,
        takesValue: o.required || o.optional,
        requiredValue: o.required,
        mandatory: o.mandatory,
        positional: false,
      });
    }
    for (const a of command.registeredArguments) {
      const name = `${a.name()}${a.variadic ? '...' : ''}`;
      found.push({
        command: path,
        option: a.required ? `<${name}>` : `[${name}]`,
        takesValue: true,
        requiredValue: a.required,
        mandatory: a.required,
        positional: true,
      });
    }
    for (const sub of command.commands) walk(sub, path ? `${path} ${sub.name()}` : sub.name());
  };
  walk(buildProgram(), '');
  return found;
}

/** Commands that run something (no subcommands), and the program itself (''). */
function runnableCommands(): string[] {
  const found: string[] = [''];
  const walk = (command: Command, path: string) => {
    for (const sub of command.commands) {
      const p = path ? `${path} ${sub.name()}` : sub.name();
      if (sub.commands.length === 0) found.push(p);
      walk(sub, p);
    }
  };
  walk(buildProgram(), '');
  return found;
}

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

interface PlannedCase extends Case {
  command: string;
  option: string;
  /** The whole command line, placeholders unreplaced. */
  argv: string[];
}

const isPositional = (key: string) => key.startsWith('<') || key.startsWith('[');

/** The command line of `c`: the command, its base without the option under test, the case. */
function commandLine(command: string, option: string, c: Case): string[] {
  const table = TABLE[command];
  const left = new Set([option, ...(c.drop ?? [])]);
  const base = table.base.filter(([key]) => !left.has(key));
  const flat = (pairs: Pair[]) =>
    pairs.flatMap(([key, ...values]) => (isPositional(key) ? values : [key, ...values]));
  const caseArgs = c.args.length > 0 && isPositional(c.args[0]) ? c.args.slice(1) : c.args;
  return [...(command ? command.split(' ') : []), ...flat(base), ...caseArgs];
}

const sameArgs = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** The known defect that stands for case `c`, if any. */
function defectOf(c: PlannedCase): KnownDefect | undefined {
  return KNOWN_DEFECTS.find(
    (d) =>
      !d.runaway && d.command === c.command && d.option === c.option && sameArgs(d.args, c.args),
  );
}

function plannedCases(): PlannedCase[] {
  const planned: PlannedCase[] = [];
  const add = (command: string, option: string, c: Case) =>
    planned.push({ ...c, command, option, argv: commandLine(command, option, c) });
  for (const [command, table] of Object.entries(TABLE)) {
    for (const [option, row] of Object.entries(table.rows)) {
      if ('cases' in row) for (const c of row.cases) add(command, option, c);
    }
  }
  // From commander's definitions: a value option without its value (last, so that nothing
  // after it is taken for one), a mandatory option or argument left out, an unknown option.
  const defs = definitions();
  for (const d of defs) {
    if (!(d.command in TABLE)) continue;
    if (d.requiredValue && !d.positional)
      add(d.command, d.option, { kind: 'no value', args: [d.option] });
    if (d.mandatory) add(d.command, d.option, { kind: 'omitted', args: [] });
  }
  for (const command of runnableCommands()) {
    if (!(command in TABLE)) continue;
    add(command, '', { kind: 'unknown option', args: ['--frobnicate'] });
  }
  add('', '', { kind: 'unknown command', args: ['trian'] });
  return planned;
}

// ---------------------------------------------------------------------------------------------
// Running a case
// ---------------------------------------------------------------------------------------------

let fixtures = '';
let cases = '';

function substitute(arg: string, out: string): string {
  return arg
    .replaceAll('$RUN', join(fixtures, 'run'))
    .replaceAll('$FIX', fixtures)
    .replaceAll('$OUT', out);
}

/** Every file and folder under `dir`: size, time and hash of each file. */
function snapshot(dir: string): Record<string, string> {
  const found: Record<string, string> = {};
  const walk = (path: string, rel: string) => {
    for (const name of readdirSync(path).sort()) {
      const full = join(path, name);
      const key = rel ? `${rel}/${name}` : name;
      const s = statSync(full);
      if (s.isDirectory()) {
        found[`${key}/`] = 'dir';
        walk(full, key);
      } else {
        const hash = createHash('sha1').update(readFileSync(full)).digest('hex');
        found[key] = `${s.size} ${s.mtimeMs} ${hash}`;
      }
    }
  };
  if (existsSync(dir)) walk(dir, '');
  return found;
}

function prepare(out: string, how: Case['prepare']): void {
  if (how === 'file') writeFileSync(out, 'not anneal output\n');
  if (how === 'directory') mkdirSync(out);
  if (how === 'folder with a file') {
    mkdirSync(out);
    writeFileSync(join(out, 'notes.txt'), 'my notes\n');
  }
}

const display = (argv: string[]) =>
  argv.map((a) => (a === '' ? "''" : /[\s"'{}[\]]/.test(a) ? `'${a}'` : a)).join(' ');

/** The user-error contract: exit 2, one line on stderr, no stack. */
function assertContract(r: InProcessResult): void {
  const detail = `exit ${r.code}\nstderr: ${r.stderr}\nstdout: ${r.stdout.slice(0, 2000)}`;
  assert.equal(r.code, 2, `expected exit 2; ${detail}`);
  assert.doesNotMatch(r.stderr, /^\s+at /m, `a stack trace; ${detail}`);
  const lines = r.stderr.replace(/\n$/, '').split('\n');
  assert.equal(lines.length, 1, `expected one line on stderr; ${detail}`);
  assert.ok(lines[0].trim() !== '', `expected a message on stderr; ${detail}`);
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

const PLANNED = plannedCases();
const inRoot = ['runs', 'report.html'].map((p) => [p, existsSync(join(root, p))] as const);

before(async () => {
  fixtures = mkdtempSync(join(tmpdir(), 'anneal-bad-input-fixtures-'));
  cases = mkdtempSync(join(tmpdir(), 'anneal-bad-input-cases-'));
  for (const [name, text] of Object.entries(FIXTURE_FILES))
    writeFileSync(join(fixtures, name), text);
  mkdirSync(join(fixtures, 'empty-dir'));
  await writeOwnDataFixtures(fixtures);
  const train = ['train', '--no-progress', '--kernels', 'js'];
  const tiny = ['--data', 'synthetic', '--model', 'mlp', '--limit', '64', '--test-limit', '32'];
  const run = await runCli([...train, ...tiny, '--epochs', '1', '--out', join(fixtures, 'run')]);
  assert.equal(run.code, 0, run.stderr);
  const other = await runCli([
    ...train,
    ...['--recipe', join(fixtures, 'recipe-other-mlp.yaml')],
    ...['--out', join(fixtures, 'other-run')],
  ]);
  assert.equal(other.code, 0, other.stderr);
  // Users' models for the base's synthetic data ([8, 8, 1], 4 classes), saved by tfjs itself.
  const userModel = (shape: number[], classes: number) =>
    tfl.sequential({
      layers: [
        tfl.layers.flatten({ inputShape: shape }),
        tfl.layers.dense({ units: classes, activation: 'softmax' }),
      ],
    });
  for (const [name, shape, classes] of [
    ['user-model', [8, 8, 1], 4],
    ['user-model-shape', [28, 28, 1], 4],
    ['user-model-classes', [8, 8, 1], 10],
  ] as const) {
    writeTfjsModel(await tfjsArtifacts(userModel([...shape], classes)), join(fixtures, name));
  }
});

/** The image-folder and csv fixtures of OWN_DATA_CASES, and a good one of each. */
async function writeOwnDataFixtures(dir: string): Promise<void> {
  const grey = await greyPng(new Uint8Array(16).fill(90), 4, 4);
  const files: Record<string, Buffer | string> = {
    'if-good/a/0.png': grey,
    'if-good/a/1.png': grey,
    'if-good/b/0.png': grey,
    'if-good/b/1.png': grey,
    'if-empty-class/a/0.png': grey,
    'if-corrupt/a/0.png': grey,
    'if-corrupt/b/0.png': grey.subarray(0, 30),
    'if-unreadable/a/0.png': grey,
    'if-mixed/a/0.png': grey,
    'if-mixed/b/0.png': await rgbPng(4, 4, [10, 20, 30]),
    'if-one-class/a/0.png': grey,
    'if-one-class/a/1.png': grey,
    'csv-good.csv': 'a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n',
    'csv-short-row.csv': 'a,b,label\n1,2,x\n3,y\n',
    'csv-word.csv': 'a,b,label\n1,2,x\n3,four,y\n',
    'csv-no-label.csv': 'a,b,class\n1,2,x\n3,4,y\n',
    'csv-one-class.csv': 'a,b,label\n1,2,x\n3,4,x\n',
  };
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  mkdirSync(join(dir, 'if-empty-class', 'b'));
  // A folder with an image's name cannot be read, even by root (chmod would not stop root).
  mkdirSync(join(dir, 'if-unreadable', 'b', '0.png'), { recursive: true });
}

after(() => {
  rmSync(fixtures, { recursive: true, force: true });
  rmSync(cases, { recursive: true, force: true });
  rmSync(cacheHome, { recursive: true, force: true });
});

test('every option and argument of every command has a row', () => {
  const defs = definitions();
  const missing = defs
    .filter((d) => TABLE[d.command]?.rows[d.option] === undefined)
    .map((d) => `anneal ${d.command} ${d.option}`.replace(/ +/g, ' '));
  assert.deepEqual(missing, [], 'options without a row in TABLE (add their bad values)');
  const known = new Set(defs.map((d) => `${d.command}|${d.option}`));
  const stale = Object.entries(TABLE).flatMap(([command, t]) =>
    Object.keys(t.rows)
      .filter((option) => !known.has(`${command}|${option}`))
      .map((option) => `${command} ${option}`),
  );
  assert.deepEqual(stale, [], 'rows of options the program does not have');
  const staleDefects = KNOWN_DEFECTS.filter((d) => !known.has(`${d.command}|${d.option}`));
  assert.deepEqual(staleDefects, [], 'known defects of options the program does not have');
  for (const d of KNOWN_DEFECTS) {
    const matching = PLANNED.filter(
      (c) => c.command === d.command && c.option === d.option && sameArgs(c.args, d.args),
    );
    // A runaway input must not be a case (it would run); any other defect stands for one.
    assert.equal(
      matching.length,
      d.runaway ? 0 : 1,
      `KNOWN_DEFECTS ${d.command} ${d.args.join(' ')}`,
    );
  }
  for (const d of defs) {
    const row = TABLE[d.command].rows[d.option];
    const where = `anneal ${d.command} ${d.option}`;
    if (!d.takesValue) {
      assert.ok('flag' in row, `${where} takes no value: its row is { flag: why }`);
      continue;
    }
    assert.ok(!('flag' in row), `${where} takes a value: its row needs bad values`);
    if ('cases' in row) {
      const defects = KNOWN_DEFECTS.filter((k) => k.command === d.command && k.option === d.option);
      assert.ok(row.cases.length + defects.length > 0, `${where}: no cases`);
    }
  }
});

for (const c of PLANNED) {
  const defect = defectOf(c);
  if (defect) {
    test.todo(`KNOWN DEFECT: anneal ${display(c.argv)}: ${defect.observed}`);
    continue;
  }
  const name = `anneal ${display(c.argv)} [${c.command || 'anneal'} ${c.option || ''}: ${c.kind}]`;
  test(name.replace(/ +/g, ' '), async () => {
    const work = mkdtempSync(join(cases, 'case-'));
    const out = join(work, 'out');
    prepare(out, c.prepare);
    const before = snapshot(work);
    const fixturesBefore = snapshot(fixtures);
    const r = await runCli(c.argv.map((a) => substitute(a, out)));
    assertContract(r);
    assert.deepEqual(snapshot(work), before, `the output location changed; stderr: ${r.stderr}`);
    assert.deepEqual(snapshot(fixtures), fixturesBefore, 'the fixtures changed');
  });
}

for (const d of KNOWN_DEFECTS.filter((k) => k.runaway)) {
  const argv = commandLine(d.command, d.option, { kind: 'huge', args: d.args, drop: d.drop });
  test.todo(`KNOWN DEFECT: anneal ${display(argv)}: ${d.observed}`);
}

// Each case changes one option of its command's base: the base itself must succeed, or a case
// could fail for the base's fault and pass unnoticed. view and worker are left out: they would
// start a server and serve a queue until stopped.
for (const command of Object.keys(TABLE).filter((c) => !['', 'view', 'worker'].includes(c))) {
  test(`the base arguments of anneal ${command} are valid (exit 0)`, async () => {
    const work = mkdtempSync(join(cases, 'base-'));
    const argv = commandLine(command, '', { kind: 'omitted', args: [] });
    const r = await runCli(argv.map((a) => substitute(a, join(work, 'out'))));
    assert.equal(r.code, 0, r.stderr);
  });
}

test('nothing was written to the working directory', () => {
  for (const [path, existed] of inRoot) assert.equal(existsSync(join(root, path)), existed, path);
});

// A sample as real processes: the contract holds end to end, not only through main().
test('a sample of bad inputs as real processes: exit 2, one line, nothing written', () => {
  const work = mkdtempSync(join(cases, 'spawned-'));
  const out = join(work, 'out');
  const run = join(fixtures, 'run');
  assertUserError(
    anneal(['train', '--data', 'synthetic', '--limit', '64', '--lr', 'NaN', '--out', out]),
    '--lr',
  );
  assertUserError(
    anneal(['schedule', '--spec', '{"name":"sgdr"', '--steps', '10', '--out', out]),
    '--spec',
  );
  assertUserError(
    anneal([
      'soup',
      '--checkpoints',
      join(fixtures, 'missing'),
      '--held-out',
      'test',
      '--out',
      out,
    ]),
    join(fixtures, 'missing'),
  );
  assertUserError(
    anneal(['prune', '--checkpoint', run, '--target', '1', '--out', out]),
    '--target',
  );
  assertUserError(anneal(['view', fixtures, '--port', '70000']), '--port');
  assertUserError(anneal(['data', 'info', '--data', 'imagenet']), 'imagenet');
  assert.deepEqual(readdirSync(work), []);
});

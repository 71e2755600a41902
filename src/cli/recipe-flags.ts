/**
 * The flags that set recipe fields (src/train/recipe.ts), shared by `anneal train` and
 * `anneal lr-find`: where each one lands in a recipe, and how a recipe file and the flags given
 * on the command line merge (flags win). Flags carry no commander defaults, so that a flag the
 * user did not give never overrides a recipe; the defaults are the recipe schema's.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseThreads } from '../machine.js';
import { UsageError } from '../errors.js';
import {
  BACKEND_CHOICES,
  KERNEL_CHOICES,
  NAN_POLICIES,
  parseRecipe,
  readRecipeFile,
  RECIPE_DEFAULTS,
  setField,
  type Recipe,
} from '../runs/recipe.js';
import { DATASET_NAMES, DEFAULT_LABEL_COLUMN, DEFAULT_VAL_FRACTION } from '../data/index.js';
import { nonNegativeInt, oneOf, positiveInt, positiveNumber } from './parse.js';

interface RecipeFlag {
  /** commander's flag syntax. */
  flags: string;
  description: string;
  /** Where the value goes in a recipe. */
  path: readonly string[];
  parse?: (value: string) => unknown;
  /** The flag's value as the recipe field (default: as parsed). */
  toField?: (value: never) => unknown;
}

const defaultIs = (value: unknown) => ` (default: ${String(value)})`;

/** Every recipe flag, keyed by commander's option name. */
const RECIPE_FLAGS = {
  data: {
    flags: '--data <name>',
    description: `dataset: ${DATASET_NAMES.join(', ')}${defaultIs(RECIPE_DEFAULTS.data)}`,
    path: ['data', 'name'],
  },
  dataDir: {
    flags: '--data-dir <dir>',
    description:
      'directory of the dataset files (fashion-mnist, cifar10, image-folder); for csv a .csv file, ' +
      'or a folder with train.csv and test.csv',
    path: ['data', 'dir'],
  },
  imageSize: {
    flags: '--image-size <n|HxW>',
    description:
      "image-folder: resize every image to n x n or H x W, e.g. 28 or 32x32 (default: the first image's size)",
    path: ['data', 'imageSize'],
    parse: parseImageSize,
  },
  grayscale: {
    flags: '--grayscale',
    description: 'image-folder: make every image one channel',
    path: ['data', 'grayscale'],
  },
  valFraction: {
    flags: '--val-fraction <x>',
    description: `image-folder, csv: share of each class held out as the test split when there is no train/test pair (default: ${DEFAULT_VAL_FRACTION})`,
    path: ['data', 'valFraction'],
    parse: positiveNumber,
  },
  cacheDir: {
    flags: '--cache-dir <dir>',
    description:
      'image-folder: where decoded pixels are cached (default: $XDG_CACHE_HOME/anneal, else ~/.cache/anneal)',
    path: ['data', 'cacheDir'],
  },
  labelColumn: {
    flags: '--label-column <name>',
    description: `csv: the label column (default: ${DEFAULT_LABEL_COLUMN})`,
    path: ['data', 'labelColumn'],
  },
  limit: {
    flags: '--limit <n>',
    description: 'use only the first n training samples',
    path: ['data', 'limit'],
    parse: positiveInt,
  },
  testLimit: {
    flags: '--test-limit <n>',
    description: 'use only the first n test samples',
    path: ['data', 'testLimit'],
    parse: positiveInt,
  },
  labelNoise: {
    flags: '--label-noise <rate|kind:rate>',
    description:
      "make a fraction of the training labels wrong: '0.2' (symmetric) or 'pairflip:0.4'",
    path: ['data', 'labelNoise'],
    toField: (text: string) => parseLabelNoiseFlag(text),
  },
  model: {
    flags: '--model <name|model.json>',
    description: `model: mlp, cnn, resnet, vit, or a tfjs model.json to train${defaultIs(RECIPE_DEFAULTS.model)}`,
    path: ['model', 'name'],
  },
  epochs: {
    flags: '--epochs <n>',
    description: `epochs to train (the run's duration, default ${RECIPE_DEFAULTS.duration})`,
    path: ['duration'],
    parse: positiveInt,
    toField: (n: number) => `${n}ep`,
  },
  duration: {
    flags: '--duration <time>',
    description: `the run's length: '2ep', '500ba', '12000sp'${defaultIs(RECIPE_DEFAULTS.duration)}`,
    path: ['duration'],
  },
  batchSize: {
    flags: '--batch-size <n>',
    description: `samples per batch${defaultIs(RECIPE_DEFAULTS.batchSize)}`,
    path: ['batchSize'],
    parse: positiveInt,
  },
  optimizer: {
    flags: '--optimizer <name>',
    description: `optimizer: adamw, adam, sgd, sgdw, momentum, lookahead_adamw, ...${defaultIs(RECIPE_DEFAULTS.optimizer)}`,
    path: ['optimizer', 'name'],
  },
  lr: {
    flags: '--lr <x>',
    description: "learning rate (default: the optimizer's, 1e-3 for adamw)",
    path: ['optimizer', 'lr'],
    parse: positiveNumber,
  },
  weightDecay: {
    flags: '--weight-decay <x>',
    description: "weight decay (default: the optimizer's, 0.01 for adamw)",
    path: ['optimizer', 'weightDecay'],
    parse: nonNegativeNumber,
  },
  schedule: {
    flags: '--schedule <name|json>',
    description:
      'learning-rate multiplier schedule: a name (cosine, onecycle, ...) or a JSON spec (default: constant)',
    path: ['schedules', 'lr'],
    toField: (text: string) => parseScheduleFlag(text),
  },
  methods: {
    flags: '--methods <names|json>',
    description:
      "training methods in the order they run: names ('label-smoothing,mixup') or a JSON list " +
      'such as \'[{"name":"mixup","alpha":0.4}]\'',
    path: ['methods', 'use'],
    toField: (text: string) => parseMethodsFlag(text),
  },
  seed: {
    flags: '--seed <n>',
    description: `seed for initialisation and shuffling${defaultIs(RECIPE_DEFAULTS.seed)}`,
    path: ['seed'],
    parse: nonNegativeInt,
  },
  backend: {
    flags: '--backend <name>',
    description: `TensorFlow.js backend: ${BACKEND_CHOICES.join(', ')}${defaultIs(RECIPE_DEFAULTS.backend)}`,
    path: ['backend'],
    parse: oneOf(BACKEND_CHOICES),
  },
  threads: {
    flags: '--threads <n>',
    description:
      "the anneal-cpu backend's threads, a whole number >= 1 (default: ANNEAL_THREADS, else every core; " +
      'search divides them among its workers)',
    path: ['threads'],
    parse: (value: string) => parseThreads(value, '--threads'),
  },
  kernels: {
    flags: '--kernels <name>',
    description: `flat-vector kernels: ${KERNEL_CHOICES.join(', ')} (default: ANNEAL_KERNELS, else auto)`,
    path: ['kernels'],
    parse: oneOf(KERNEL_CHOICES),
  },
  evalInterval: {
    flags: '--eval-interval <time>',
    description: `evaluate on the test set every '1ep', '500ba', ...${defaultIs(RECIPE_DEFAULTS.evalInterval)}`,
    path: ['evalInterval'],
  },
  checkpointInterval: {
    flags: '--checkpoint-interval <time>',
    description: `write a checkpoint every '1ep', '100ba', ...${defaultIs(RECIPE_DEFAULTS.checkpointInterval)}`,
    path: ['checkpointInterval'],
  },
  keepCheckpoints: {
    flags: '--keep-checkpoints <n>',
    description: `checkpoints kept${defaultIs(RECIPE_DEFAULTS.keepCheckpoints)}`,
    path: ['keepCheckpoints'],
    parse: positiveInt,
  },
  logEvery: {
    flags: '--log-every <n>',
    description: `write a log.jsonl record every n steps${defaultIs(RECIPE_DEFAULTS.logEvery)}`,
    path: ['logEvery'],
    parse: positiveInt,
  },
  nanGuard: {
    flags: '--nan-guard <policy>',
    description: `on a NaN/Inf gradient or loss: skip the step, stop, or off${defaultIs(RECIPE_DEFAULTS.nanGuard)}`,
    path: ['methods', 'nanGuard', 'policy'],
    parse: oneOf(NAN_POLICIES),
  },
  nanGuardReadEvery: {
    flags: '--nan-guard-read-every <n>',
    description:
      "steps between reads of the NaN guard's verdict, which Adam and SGD act on where the weights are (default 1 on host kernels, 100 on cuda)",
    path: ['methods', 'nanGuard', 'readEvery'],
    parse: positiveInt,
  },
} as const satisfies Record<string, RecipeFlag>;

export type RecipeFlagName = keyof typeof RECIPE_FLAGS;

/** The flags that say which dataset and how to read it, for every command that loads one. */
export const DATA_FLAGS = [
  'data',
  'dataDir',
  'imageSize',
  'grayscale',
  'valFraction',
  'cacheDir',
  'labelColumn',
] as const satisfies readonly RecipeFlagName[];

/** The command-line options that are recipe flags, by option name, as commander parsed them. */
export type RecipeFlagValues = Partial<Record<RecipeFlagName, unknown>>;

export function isRecipeFlag(name: string): name is RecipeFlagName {
  return Object.prototype.hasOwnProperty.call(RECIPE_FLAGS, name);
}

/** Adds `--recipe <file>` and the named recipe flags to a command. */
export function addRecipeOptions(command: Command, names: readonly RecipeFlagName[]): Command {
  command.option(
    '--recipe <file>',
    "a JSON or YAML recipe with the run's settings; flags given too override its fields",
  );
  for (const name of names) command.addOption(recipeFlagOption(name));
  return command;
}

/** The commander option of one recipe flag, for a command that takes no others (prune's --threads). */
export function recipeFlagOption(name: RecipeFlagName): Option {
  const flag: RecipeFlag = RECIPE_FLAGS[name];
  const option = new Option(flag.flags, flag.description);
  return flag.parse ? option.argParser(flag.parse) : option;
}

/**
 * The flag that sets a dotted recipe path, e.g. '--lr' for 'optimizer.lr'. Where two flags set
 * one path (--epochs and --duration), the one given in `values`.
 */
export function flagForPath(path: string, values: RecipeFlagValues = {}): string | undefined {
  const setting = Object.entries(RECIPE_FLAGS).filter(([, f]) => f.path.join('.') === path);
  const found =
    setting.find(([name]) => values[name as RecipeFlagName] !== undefined) ?? setting[0];
  return found?.[1].flags.split(' ')[0];
}

/** The recipe fields the given flags set, as [path, value] pairs. */
export function flagFields(values: RecipeFlagValues): [readonly string[], unknown][] {
  if (values.epochs !== undefined && values.duration !== undefined) {
    throw new UsageError(
      'ANNEAL_BAD_OPTION',
      `--epochs ${String(values.epochs)} and --duration ${String(values.duration)} both set the run's length: give one`,
    );
  }
  const fields: [readonly string[], unknown][] = [];
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined || !isRecipeFlag(name)) continue;
    const flag: RecipeFlag = RECIPE_FLAGS[name];
    fields.push([flag.path, flag.toField ? flag.toField(value as never) : value]);
  }
  return fields;
}

/**
 * The recipe of a command: the `--recipe` file (or nothing), with every recipe flag given on the
 * command line written over it, checked by the recipe schema. A bad file is reported against the
 * file; a bad value that a flag set, against the flag.
 */
export function recipeFromOptions(options: RecipeFlagValues & { recipe?: string }): Recipe {
  let doc: unknown = {};
  if (options.recipe !== undefined) {
    // Checked alone first, so that its errors name the file's fields.
    doc = readRecipeFile(options.recipe);
    parseRecipe(doc, { source: `recipe ${options.recipe}` });
  }
  for (const [path, value] of flagFields(options)) doc = setField(doc, path, value);
  return parseRecipe(doc, {
    source: options.recipe === undefined ? 'options' : `options over recipe ${options.recipe}`,
    label: (path) => flagForPath(path, options) ?? path,
  });
}

/** '28' (square) or '32x32' (height x width). */
export function parseImageSize(value: string): number | [number, number] {
  const parts = value.trim().toLowerCase().split('x');
  const sizes = parts.map(Number);
  if (parts.length > 2 || !sizes.every((n) => Number.isInteger(n) && n > 0)) {
    throw new InvalidArgumentError('expected a size such as 28, or height x width such as 32x32.');
  }
  return sizes.length === 1 ? sizes[0] : [sizes[0], sizes[1]];
}

function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    throw new InvalidArgumentError('expected a number >= 0, e.g. 0.01.');
  return n;
}

/** A schedule name ('cosine') or a JSON spec, given to `flag`. */
export function parseScheduleFlag(text: string, flag = '--schedule'): unknown {
  if (!text.trim().startsWith('{')) return { name: text.trim() };
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(
      'ANNEAL_BAD_SCHEDULE',
      `${flag} ${text} is not valid JSON (${(e as Error).message}); give a name such as cosine or ` +
        `a spec such as '{"name":"cosine","warmup":"1ep"}'`,
    );
  }
}

/** Method names separated by commas, or a JSON list of names and { name, ...options }. */
export function parseMethodsFlag(text: string): unknown {
  if (!text.trim().startsWith('[')) {
    const names = text.split(',').map((name) => name.trim());
    if (names.includes('')) {
      throw new UsageError(
        'ANNEAL_BAD_OPTION',
        `--methods '${text}' has an empty name: expected names such as label-smoothing,mixup ` +
          "(or '[]' for no methods)",
      );
    }
    return names;
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(
      'ANNEAL_BAD_OPTION',
      `--methods ${text} is not valid JSON (${(e as Error).message}); give names such as ` +
        `label-smoothing,mixup or a list such as '[{"name":"mixup","alpha":0.4}]'`,
    );
  }
}

/** '0.2' (symmetric) or 'kind:rate'; the recipe schema checks the kind and the range. */
export function parseLabelNoiseFlag(text: string): unknown {
  const [kind, rate] = text.includes(':') ? text.split(':', 2) : ['symmetric', text];
  const value = Number(rate);
  if (rate.trim() === '' || !Number.isFinite(value)) {
    throw new UsageError(
      'ANNEAL_BAD_OPTION',
      `--label-noise ${text} is not valid: expected a rate in [0, 1] such as 0.2, or kind:rate ` +
        'such as pairflip:0.4',
    );
  }
  return { kind: kind.trim(), rate: value };
}

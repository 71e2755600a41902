/**
 * Recipes: a whole training run as one JSON or YAML document (`anneal train --recipe r.yaml`),
 * checked by a zod schema whose errors name the field. The same schema gives the defaults of
 * `anneal train`'s flags, which override a recipe's fields.
 *
 * ```yaml
 * data: { name: mnist, limit: 10000 }      # or just `data: mnist`
 * model: { name: mlp, options: { hidden: [256, 128] } }
 * optimizer: { name: adamw, lr: 0.001, weightDecay: 0.05 }
 * schedules:                               # multipliers of the optimizer's values
 *   lr: { name: cosine, warmup: 1ep }
 * methods:
 *   use: [label-smoothing, { name: mixup, alpha: 0.4 }]   # registry names, in order
 *   nanGuard: { policy: skip }
 *   earlyStopping: { monitor: eval/accuracy, patience: 2 }
 * duration: 3ep
 * batchSize: 128
 * ```
 *
 * Every object is strict: an unknown key is an error naming it. A missing `name` is the default
 * one (`optimizer: { lr: 0.01 }` is AdamW). Model options and the options of methods.use entries
 * are checked here against the keys their model or method takes (the same check createModel and
 * createMethod make); schedule specs by the schedule registry, which names their fields too.
 */
import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import {
  addLabelNoise,
  DATASET_NAMES,
  isImageShape,
  LABEL_NOISE_KINDS,
  loadDataset,
  type Dataset,
  type LoadDatasetOptions,
} from '../data/index.js';
import { BACKEND_NAMES, initEngine, type EngineState } from '../engine/index.js';
import { UsageError } from '../errors.js';
import { KERNEL_CHOICES } from '../kernels/index.js';
import { createMethod, earlyStopping, METHODS, nanGuard } from '../methods/index.js';
import { createModel, isModelName, MODEL_NAMES, modelOptionKeys } from '../models/index.js';
import { unknownKeysMessage } from '../options.js';
import { resolveOptimizer, type OptimizerSpec } from '../optim/index.js';
import type { ScheduleSpec } from '../schedules/index.js';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Method } from '../train/method.js';
import { parseDuration } from '../time/index.js';
import type { TrainerOptions } from '../train/trainer.js';
import {
  checkUserModelMethods,
  isModelPath,
  loadUserModel,
  refuseUserModel,
  USER_MODEL,
} from './user-model.js';

/** The flat-vector kernel choices (src/kernels owns the list). */
export { KERNEL_CHOICES };
export const BACKEND_CHOICES = ['auto', ...BACKEND_NAMES] as const;
export const NAN_POLICIES = ['skip', 'stop', 'off'] as const;

/** The values a recipe (or `anneal train` without one) gets for what it leaves out. */
export const RECIPE_DEFAULTS = Object.freeze({
  data: 'mnist',
  model: 'cnn',
  optimizer: 'adamw',
  duration: '1ep',
  batchSize: 64,
  seed: 0,
  backend: 'auto',
  evalInterval: '1ep',
  checkpointInterval: '1ep',
  keepCheckpoints: 3,
  logEvery: 50,
  nanGuard: 'stop',
} as const);

const positiveInt = z.number().int().positive();
const nonNegative = z.number().nonnegative();
const unitInterval = z.number().min(0).lt(1);

/** `name` alone may be written as a string: `model: cnn` is `model: { name: cnn }`. */
const named = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === 'string' ? { name: v } : v), schema);

function duration(allowFractionOfRun: boolean) {
  return z.string().superRefine((text, ctx) => {
    try {
      const d = parseDuration(text);
      if (d.unit === 'dur' && !allowFractionOfRun) throw new Error('a fraction of the run');
      if (!(d.value > 0)) throw new Error('nothing to train');
    } catch {
      const forms = allowFractionOfRun
        ? "'2ep', '500ba', '12000sp' or '0.5dur'"
        : "'2ep', '500ba' or '12000sp'";
      ctx.addIssue({
        code: 'custom',
        message: `expected a positive duration such as ${forms}, received ${JSON.stringify(text)}`,
      });
    }
  });
}

const optimizerName = z.string().superRefine((name, ctx) => {
  try {
    resolveOptimizer(name);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
  }
});

const scheduleSpec = named(z.looseObject({ name: z.string() }));

/** Model options the recipe itself sets (recipeModel): from the data and the recipe's seed. */
const SET_BY_RECIPE = ['inputShape', 'numClasses', 'seed'];

/** model.options: only keys the model takes, less those the recipe sets. */
function checkModelOptions(
  model: { name: string; options?: Record<string, unknown> },
  ctx: z.RefinementCtx,
): void {
  if (model.options === undefined || !isModelName(model.name)) return;
  const { options } = model;
  const owner = `model '${model.name}'`;
  const set = Object.keys(options).filter((k) => SET_BY_RECIPE.includes(k));
  if (set.length) {
    ctx.addIssue({
      code: 'custom',
      path: ['options'],
      message:
        `${owner}: ${set.map((k) => `'${k}'`).join(', ')} cannot be set in model.options: ` +
        "the recipe sets inputShape and numClasses from its data, and seed from its 'seed'",
    });
  }
  const known = modelOptionKeys(model.name).filter((k) => !SET_BY_RECIPE.includes(k));
  const rest = Object.fromEntries(Object.entries(options).filter(([k]) => !set.includes(k)));
  const message = unknownKeysMessage(owner, rest, known);
  if (message !== undefined) ctx.addIssue({ code: 'custom', path: ['options'], message });
}

/**
 * methods.use: each { name, ...options } of a known method takes only that method's keys. An
 * unknown name is left to createMethod, whose error lists the names.
 */
function checkMethodOptions(use: readonly (string | { name: string })[], ctx: z.RefinementCtx) {
  for (const m of use) {
    if (typeof m === 'string' || !Object.prototype.hasOwnProperty.call(METHODS, m.name)) continue;
    const message = unknownKeysMessage(m.name, m, METHODS[m.name].keys);
    if (message !== undefined) ctx.addIssue({ code: 'custom', message });
  }
}

/** The data options that apply to some datasets only, and which. */
const DATA_OPTION_USERS: Record<string, readonly string[]> = {
  imageSize: ['image-folder'],
  grayscale: ['image-folder'],
  cacheDir: ['image-folder'],
  valFraction: ['image-folder', 'csv'],
  labelColumn: ['csv'],
};

function checkDataOptions(data: Record<string, unknown>, ctx: z.RefinementCtx): void {
  for (const [key, users] of Object.entries(DATA_OPTION_USERS)) {
    if (data[key] === undefined || users.includes(String(data.name))) continue;
    ctx.addIssue({
      code: 'custom',
      path: [key],
      message: `applies to the ${users.join(' and ')} dataset${users.length > 1 ? 's' : ''}, not ${String(data.name)}`,
    });
  }
}

/**
 * A model file given as the name (`--model ./m.json`, `model: ./m.json`) or as `path`: the model
 * 'user' at that path, made absolute so that a resumed run finds it from anywhere.
 */
function modelFile(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const m = value as Record<string, unknown>;
  if (typeof m.name === 'string' && isModelPath(m.name) && m.path === undefined) {
    return { ...m, name: USER_MODEL, path: resolve(m.name) };
  }
  if (typeof m.path === 'string' && m.path !== '') {
    return { ...m, name: m.name ?? USER_MODEL, path: resolve(m.path) };
  }
  return value;
}

/** `path` goes with the name 'user' only, and a user's model takes no options. */
function checkModelFile(
  model: { name: string; path?: string; options?: Record<string, unknown> },
  ctx: z.RefinementCtx,
): void {
  if (model.path === undefined) {
    if (model.name === USER_MODEL) {
      ctx.addIssue({
        code: 'custom',
        path: ['path'],
        message: "model 'user' is a model file: give its model.json as model.path",
      });
    }
    return;
  }
  if (model.name !== USER_MODEL) {
    ctx.addIssue({
      code: 'custom',
      path: ['name'],
      message: `model.path ${model.path} is a user's model; drop model.name '${model.name}' (or model.path)`,
    });
  }
  if (model.options !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['options'],
      message: `model.options configure built-in models; model ${model.path} takes none: drop them`,
    });
  }
}

export const RecipeSchema = z.strictObject({
  /** Free text, kept in config.json. */
  description: z.string().optional(),
  data: named(
    z
      .strictObject({
        name: z.enum(DATASET_NAMES).default(RECIPE_DEFAULTS.data),
        /** Directory of the dataset's files (fashion-mnist, cifar10, image-folder; a .csv file for csv). */
        dir: z.string().optional(),
        /** image-folder: the size images are resized to, `28` or `[height, width]`. */
        imageSize: z.union([positiveInt, z.tuple([positiveInt, positiveInt])]).optional(),
        /** image-folder: make every image one channel. */
        grayscale: z.boolean().optional(),
        /** image-folder: where decoded pixels are cached (default under $XDG_CACHE_HOME or ~/.cache). */
        cacheDir: z.string().optional(),
        /** image-folder, csv: share held out as the test split when there is no train/test pair. */
        valFraction: z.number().gt(0).lt(1).optional(),
        /** csv: the label column's name (default 'label'). */
        labelColumn: z.string().optional(),
        /** Only the first `limit` training samples. */
        limit: positiveInt.optional(),
        testLimit: positiveInt.optional(),
        /** Label noise on the training split (the test split stays clean), seeded by `seed`. */
        labelNoise: z
          .strictObject({
            rate: z.number().min(0).max(1),
            kind: z.enum(LABEL_NOISE_KINDS).default('symmetric'),
          })
          .optional(),
      })
      .superRefine(checkDataOptions),
  ).prefault({}),
  model: named(
    z.preprocess(
      modelFile,
      z
        .strictObject({
          name: z
            .enum([...MODEL_NAMES, USER_MODEL] as unknown as [string, ...string[]])
            .default(RECIPE_DEFAULTS.model),
          /** A user's tfjs model.json (name 'user'): `--model ./m.json`, or `model: { path }`. */
          path: z.string().min(1).optional(),
          /** Model-specific options, e.g. `hidden` (mlp), `blurPool` (resnet). */
          options: z.record(z.string(), z.unknown()).optional(),
        })
        .superRefine(checkModelOptions)
        .superRefine(checkModelFile),
    ),
  ).prefault({}),
  optimizer: named(
    z.strictObject({
      name: optimizerName.default(RECIPE_DEFAULTS.optimizer),
      lr: z.number().positive().optional(),
      weightDecay: nonNegative.optional(),
      beta1: unitInterval.optional(),
      beta2: unitInterval.optional(),
      eps: z.number().positive().optional(),
      amsgrad: z.boolean().optional(),
      momentum: unitInterval.optional(),
      dampening: z.number().min(0).max(1).optional(),
      nesterov: z.boolean().optional(),
      lookaheadK: positiveInt.optional(),
      lookaheadAlpha: z.number().positive().max(1).optional(),
      /** entropy_sgd (src/optim/entropy-sgd.ts). */
      langevinSteps: positiveInt.optional(),
      gamma: nonNegative.optional(),
      scoping: nonNegative.optional(),
      langevinLr: nonNegative.optional(),
      noise: nonNegative.optional(),
      langevinAlpha: z.number().min(0).max(1).optional(),
      langevinSeed: z.number().int().nonnegative().optional(),
    }),
  ).prefault({}),
  /** Multipliers of the optimizer's lr, weightDecay and momentum (beta1 for Adam). */
  schedules: z
    .strictObject({
      lr: scheduleSpec.optional(),
      weightDecay: scheduleSpec.optional(),
      momentum: scheduleSpec.optional(),
    })
    .prefault({}),
  methods: z
    .strictObject({
      nanGuard: z
        .strictObject({
          policy: z.enum(NAN_POLICIES).default(RECIPE_DEFAULTS.nanGuard),
          /** Steps between reads of the device's verdict (default: 1 on host kernels, 100 on cuda). */
          readEvery: positiveInt.optional(),
        })
        .prefault({}),
      earlyStopping: z
        .strictObject({
          monitor: z.string().optional(),
          mode: z.enum(['min', 'max']).optional(),
          patience: positiveInt.optional(),
          minDelta: nonNegative.optional(),
          restoreBest: z.boolean().optional(),
        })
        .optional(),
      /**
       * Training methods by registry name, in the order they run: 'label-smoothing', or
       * { name: 'mixup', alpha: 0.4 } with the method's options (the keys checked here, the
       * values by its factory).
       */
      use: z
        .array(z.union([z.string(), z.looseObject({ name: z.string() })]))
        .superRefine(checkMethodOptions)
        .default([]),
    })
    .prefault({}),
  /** The run's length. */
  duration: duration(false).default(RECIPE_DEFAULTS.duration),
  batchSize: positiveInt.default(RECIPE_DEFAULTS.batchSize),
  seed: z.number().int().nonnegative().default(RECIPE_DEFAULTS.seed),
  /** Flat-vector kernels; absent: env ANNEAL_KERNELS, else auto. */
  kernels: z.enum(KERNEL_CHOICES).optional(),
  /** TensorFlow.js backend. */
  backend: z.enum(BACKEND_CHOICES).default(RECIPE_DEFAULTS.backend),
  /** anneal-cpu's threads; absent: env ANNEAL_THREADS, else every core. */
  threads: positiveInt.optional(),
  evalInterval: duration(true).default(RECIPE_DEFAULTS.evalInterval),
  checkpointInterval: duration(true).default(RECIPE_DEFAULTS.checkpointInterval),
  keepCheckpoints: positiveInt.default(RECIPE_DEFAULTS.keepCheckpoints),
  /** A log.jsonl record every this many steps. */
  logEvery: positiveInt.default(RECIPE_DEFAULTS.logEvery),
});

/** A recipe with its defaults filled in. */
export type Recipe = z.output<typeof RecipeSchema>;
/** What a recipe file may hold. */
export type RecipeInput = z.input<typeof RecipeSchema>;

/** The keys of the object schema at `path`, for naming what an unknown key could have been. */
function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let s = schema as z.core.$ZodType;
  let rest = [...path];
  for (;;) {
    const def = s._zod.def as unknown as Record<string, unknown> & { type: string };
    if (def.type === 'object') {
      const shape = def.shape as Record<string, z.core.$ZodType>;
      if (rest.length === 0) return Object.keys(shape);
      s = shape[String(rest[0])];
      rest = rest.slice(1);
      if (!s) return [];
    } else if (def.type === 'pipe') s = def.out as z.core.$ZodType;
    else if ('innerType' in def) s = def.innerType as z.core.$ZodType;
    else return [];
  }
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const received = 'input' in issue ? `, received ${JSON.stringify(issue.input)}` : '';
  switch (issue.code) {
    case 'unrecognized_keys': {
      const keys = keysAt(RecipeSchema, issue.path);
      return (
        `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}` +
        (keys.length ? `; expected some of ${keys.join(', ')}` : '')
      );
    }
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}${received}`;
    case 'too_small':
    case 'too_big':
      return `${issue.message.replace(/^Too (small|big): /, '')}${received}`;
    case 'invalid_type':
      return issue.expected === 'int'
        ? `expected an integer${received}`
        : issue.message.replace(/^Invalid input: /, '');
    default:
      return issue.message.replace(/^Invalid input: /, '');
  }
}

export interface RecipeSource {
  /** Where the document came from, first in every message: 'recipe r.yaml'. */
  source: string;
  /** How to name a field (default its dotted path): a flag for fields the command line set. */
  label?: (path: string) => string;
}

/**
 * Checks a recipe document and fills in the defaults. A bad one throws one UsageError line per
 * recipe: `<source>: <field path>: <what was expected>` (every problem, joined by '; ').
 */
export function parseRecipe(value: unknown, { source, label }: RecipeSource): Recipe {
  const result = RecipeSchema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    const name = path === '' ? '' : `${label ? label(path) : path}: `;
    return `${name}${describeIssue(issue)}`;
  });
  throw new UsageError('ANNEAL_BAD_RECIPE', `${source}: ${problems.join('; ')}`);
}

/** Sets `value` at `path` in a plain JSON document, making objects on the way (a copy). */
export function setField(doc: unknown, path: readonly string[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [key, ...rest] = path;
  // A name shorthand ('model: cnn') is the object { name }.
  const base =
    typeof doc === 'string' ? { name: doc } : doc !== null && typeof doc === 'object' ? doc : {};
  const record = base as Record<string, unknown>;
  return { ...record, [key]: setField(record[key], rest, value) };
}

/** The value at a dotted path of a recipe (undefined if absent). */
export function getField(doc: unknown, path: readonly string[]): unknown {
  return path.reduce<unknown>(
    (o, key) =>
      o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[key] : undefined,
    doc,
  );
}

/** Reads a .json, .yaml or .yml recipe file (unchecked: give it to parseRecipe). */
export function readRecipeFile(path: string): unknown {
  const format = extname(path).toLowerCase();
  if (!['.json', '.yaml', '.yml'].includes(format)) {
    throw new UsageError(
      'ANNEAL_BAD_RECIPE',
      `recipe ${path}: expected a .json, .yaml or .yml file`,
    );
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(
      'ANNEAL_RECIPE_NOT_FOUND',
      `recipe ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); check the path`,
    );
  }
  try {
    return format === '.json' ? JSON.parse(text) : YAML.parse(text);
  } catch (e) {
    const why = (e as Error).message.split('\n')[0];
    throw new UsageError(
      'ANNEAL_BAD_RECIPE',
      `recipe ${path} is not valid ${format === '.json' ? 'JSON' : 'YAML'}: ${why}`,
    );
  }
}

/** Reads and checks a recipe file. */
export function loadRecipe(path: string): Recipe {
  return parseRecipe(readRecipeFile(path), { source: `recipe ${path}` });
}

/** What a recipe trains: the engine started, the data sets loaded, the model built. */
export interface RecipeInputs {
  engine: EngineState;
  train: Dataset;
  test: Dataset;
  model: tfl.LayersModel;
}

/** Starts the recipe's backend, loads its data (train and test split) and builds its model. */
export async function loadRecipeInputs(recipe: Recipe): Promise<RecipeInputs> {
  // Before any data is read: a method that rewrites the model cannot take a user's.
  if (recipe.model.path !== undefined)
    checkUserModelMethods(recipe.model.path, recipeMethods(recipe));
  const engine = await initEngine({ backend: recipe.backend, threads: recipe.threads });
  const { name, limit, testLimit, labelNoise } = recipe.data;
  const loaded = await loadDataset(name, {
    ...recipeDataOptions(recipe),
    split: 'train',
    limit,
    seed: recipe.seed,
  });
  const train = labelNoise
    ? addLabelNoise(loaded, { ...labelNoise, seed: recipe.seed }).dataset
    : loaded;
  const test = await loadDataset(name, {
    ...recipeDataOptions(recipe),
    split: 'test',
    limit: testLimit,
    seed: recipe.seed + 1,
  });
  checkImageMethods(recipe, train);
  const { path } = recipe.model;
  const model = path === undefined ? recipeModel(recipe, train) : await loadUserModel(path, train);
  return { engine, train, test, model };
}

/** Methods that take NHWC image batches only (they check the batch's rank as they run). */
const IMAGE_METHODS = ['cutmix', 'batch-augmentation', 'cyclical-augmentation'];

/** On rows of features (csv), an image method is refused before a run writes anything. */
function checkImageMethods(recipe: Recipe, data: Dataset): void {
  if (isImageShape(data.shape)) return;
  const names = recipe.methods.use.map((m) => (typeof m === 'string' ? m : m.name));
  const image = names.find((n) => IMAGE_METHODS.includes(n));
  if (image !== undefined) {
    throw new UsageError(
      'ANNEAL_METHOD_NEEDS_IMAGES',
      `method '${image}' works on images, but ${data.name} gives rows of ${data.shape[0]} ` +
        `features; leave ${IMAGE_METHODS.filter((m) => names.includes(m)).join(', ')} out of --methods`,
    );
  }
}

/** Where and how the recipe's dataset is read (all but the split, limit and seed). */
export function recipeDataOptions(recipe: Recipe): LoadDatasetOptions {
  const { dir, imageSize, grayscale, cacheDir, valFraction, labelColumn } = recipe.data;
  return {
    dataDir: dir,
    imageSize: typeof imageSize === 'number' ? [imageSize, imageSize] : imageSize,
    grayscale,
    cacheDir,
    valFraction,
    labelColumn,
  };
}

/** A fresh model of the recipe's architecture for `data`, initialised from the recipe's seed. */
export function recipeModel(recipe: Recipe, data: Dataset): tfl.LayersModel {
  refuseUserModel(recipe.model.path, 'curve');
  return createModel(recipe.model.name, {
    ...recipe.model.options,
    inputShape: data.shape,
    numClasses: data.numClasses,
    seed: recipe.seed,
  });
}

/** The recipe's methods, in the order they run. */
export function recipeMethods(recipe: Recipe): Method[] {
  const { nanGuard: guard, earlyStopping: stopping, use } = recipe.methods;
  return [
    ...use.map((m) => {
      if (typeof m === 'string') return createMethod(m);
      const { name, ...options } = m;
      return createMethod(name, options);
    }),
    ...(guard.policy === 'off'
      ? []
      : [nanGuard({ policy: guard.policy, readEvery: guard.readEvery })]),
    ...(stopping ? [earlyStopping(stopping)] : []),
  ];
}

/** The Trainer options a recipe sets (the caller adds callbacks and checkpoints). */
export function recipeTrainerOptions(
  recipe: Recipe,
  inputs: Pick<RecipeInputs, 'train' | 'test' | 'model'>,
): TrainerOptions {
  const { lr, weightDecay, momentum } = recipe.schedules;
  const methods = recipeMethods(recipe);
  // Methods that change the architecture (BlurPool) rebuild the model before the Trainer makes
  // its flat parameter vector from it.
  let model = inputs.model;
  for (const method of methods)
    if (isModelTransform(method)) model = method.transformModel(model).model;
  return {
    model,
    trainData: inputs.train,
    evalData: inputs.test,
    maxDuration: recipe.duration,
    batchSize: recipe.batchSize,
    seed: recipe.seed,
    kernels: recipe.kernels,
    optimizer: recipe.optimizer as OptimizerSpec,
    schedules: {
      lr: lr as ScheduleSpec | undefined,
      weightDecay: weightDecay as ScheduleSpec | undefined,
      momentum: momentum as ScheduleSpec | undefined,
    },
    methods,
    evalInterval: recipe.evalInterval,
  };
}

interface ModelTransform {
  transformModel(model: tfl.LayersModel): { model: tfl.LayersModel };
}

function isModelTransform(method: Method): method is Method & ModelTransform {
  return typeof (method as Partial<ModelTransform>).transformModel === 'function';
}

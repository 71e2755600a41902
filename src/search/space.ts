/**
 * Search spaces over recipe fields: a map from a dotted recipe path (`optimizer.lr`,
 * `batchSize`, `schedules.lr`, `methods.use`, `model.options.hidden`) to a distribution.
 *
 * ```json
 * {
 *   "optimizer.lr": { "type": "loguniform", "low": 1e-4, "high": 0.1 },
 *   "optimizer.weightDecay": { "type": "uniform", "low": 0, "high": 0.1 },
 *   "batchSize": { "type": "choice", "values": [32, 64, 128] },
 *   "model.options.hidden": { "type": "uniform", "low": 32, "high": 256, "int": true }
 * }
 * ```
 *
 * Sampling is seeded: trial `i` of a search with seed `s` draws from its own stream
 * `deriveSeed(s, SPACE_STREAM, i)`, so a trial's configuration does not depend on how many
 * trials ran before it or in which order. Every sampled configuration is a recipe checked by
 * parseRecipe, whose errors name the field.
 */
import { readFileSync } from 'node:fs';
import { deriveSeed, Rng } from '../data/index.js';
import { UsageError } from '../errors.js';
import { parseRecipe, RecipeSchema, setField, type Recipe } from '../runs/recipe.js';

export interface LogUniform {
  type: 'loguniform';
  low: number;
  high: number;
}
export interface Uniform {
  type: 'uniform';
  low: number;
  high: number;
  /** Whole numbers low..high, both included. */
  int?: boolean;
}
export interface Choice {
  type: 'choice';
  values: unknown[];
}
export type ParamDistribution = LogUniform | Uniform | Choice;

/** Dotted recipe path -> distribution. */
export type SearchSpace = Record<string, ParamDistribution>;

/** One trial's values, by dotted recipe path. */
export type TrialConfig = Record<string, unknown>;

export const DISTRIBUTION_TYPES = ['loguniform', 'uniform', 'choice'] as const;

const SPACE_STREAM = 0x5ea7c4;

function bad(source: string, what: string): UsageError {
  return new UsageError('ANNEAL_BAD_SPACE', `${source}: ${what}`);
}

const isNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/**
 * Checks a search space document: known top-level recipe fields, known distribution types,
 * bounds in order (and > 0 for log-uniform). With `base`, also checks that the extreme values of
 * every distribution make valid recipes, so a bad range is reported before any training.
 */
export function parseSpace(value: unknown, source = 'space', base?: Recipe): SearchSpace {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw bad(source, 'expected a JSON object mapping recipe paths to distributions');
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) throw bad(source, 'the space is empty: give at least one parameter');
  const topLevel = Object.keys(
    (RecipeSchema as unknown as { shape: Record<string, unknown> }).shape,
  );
  const space: SearchSpace = {};
  for (const [path, d] of entries) {
    const head = path.split('.')[0];
    if (!topLevel.includes(head) || path.split('.').some((p) => p === '')) {
      throw bad(
        source,
        `"${path}" is not a recipe field path; expected a dotted path starting with one of ${topLevel.join(', ')}`,
      );
    }
    space[path] = parseDistribution(d, `${source}: ${path}`);
  }
  if (base) {
    for (const [path, d] of Object.entries(space)) {
      const candidates = d.type === 'choice' ? d.values : [d.low, d.high];
      for (const v of candidates)
        applyConfig(base, { [path]: v }, `${source}: ${path} = ${JSON.stringify(v)}`);
    }
  }
  return space;
}

function parseDistribution(d: unknown, where: string): ParamDistribution {
  if (d === null || typeof d !== 'object' || Array.isArray(d)) {
    throw new UsageError(
      'ANNEAL_BAD_SPACE',
      `${where}: expected an object such as { "type": "loguniform", "low": 1e-4, "high": 0.1 }`,
    );
  }
  const o = d as Record<string, unknown>;
  const fail = (what: string) => new UsageError('ANNEAL_BAD_SPACE', `${where}: ${what}`);
  const allowed: Record<string, string[]> = {
    loguniform: ['type', 'low', 'high'],
    uniform: ['type', 'low', 'high', 'int'],
    choice: ['type', 'values'],
  };
  if (typeof o.type !== 'string' || !(o.type in allowed)) {
    throw fail(
      `type ${JSON.stringify(o.type)} is not a distribution; expected one of ${DISTRIBUTION_TYPES.join(', ')}`,
    );
  }
  const unknown = Object.keys(o).filter((k) => !allowed[o.type as string].includes(k));
  if (unknown.length > 0) {
    throw fail(`unknown key "${unknown[0]}" for ${o.type}; expected ${allowed[o.type].join(', ')}`);
  }
  if (o.type === 'choice') {
    if (!Array.isArray(o.values) || o.values.length === 0) {
      throw fail('choice needs "values": a non-empty list');
    }
    return { type: 'choice', values: o.values };
  }
  if (!isNumber(o.low) || !isNumber(o.high) || !(o.low < o.high)) {
    throw fail(
      `expected numbers low < high, received low ${JSON.stringify(o.low)}, high ${JSON.stringify(o.high)}`,
    );
  }
  if (o.type === 'loguniform') {
    if (!(o.low > 0)) throw fail(`loguniform needs low > 0, received ${o.low}`);
    return { type: 'loguniform', low: o.low, high: o.high };
  }
  if (o.int !== undefined && typeof o.int !== 'boolean') {
    throw fail(`"int" must be true or false, received ${JSON.stringify(o.int)}`);
  }
  if (o.int && !(Number.isInteger(o.low) && Number.isInteger(o.high))) {
    throw fail(`an int uniform needs whole bounds, received ${o.low}..${o.high}`);
  }
  return { type: 'uniform', low: o.low, high: o.high, ...(o.int ? { int: true } : {}) };
}

/** Reads and checks a space JSON file. */
export function readSpaceFile(path: string, base?: Recipe): SearchSpace {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(
      'ANNEAL_SPACE_NOT_FOUND',
      `space ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); check the path`,
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw bad(`space ${path}`, `not valid JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  return parseSpace(doc, `space ${path}`, base);
}

/** One draw of a distribution. */
export function sampleDistribution(d: ParamDistribution, rng: Rng): unknown {
  switch (d.type) {
    case 'loguniform':
      return Math.exp(Math.log(d.low) + rng.next() * (Math.log(d.high) - Math.log(d.low)));
    case 'uniform':
      return d.int ? d.low + rng.int(d.high - d.low + 1) : d.low + rng.next() * (d.high - d.low);
    case 'choice':
      return structuredClone(d.values[rng.int(d.values.length)]);
  }
}

/** Trial `trial`'s configuration: each path drawn in sorted order from the trial's own stream. */
export function sampleConfig(space: SearchSpace, seed: number, trial: number): TrialConfig {
  const rng = new Rng(deriveSeed(seed, SPACE_STREAM, trial));
  const config: TrialConfig = {};
  for (const path of Object.keys(space).sort()) config[path] = sampleDistribution(space[path], rng);
  return config;
}

/** The base recipe with a trial's values written in, checked by parseRecipe. */
export function applyConfig(base: Recipe, config: TrialConfig, source = 'trial'): Recipe {
  let doc: unknown = base;
  for (const [path, value] of Object.entries(config)) doc = setField(doc, path.split('.'), value);
  return parseRecipe(doc, { source });
}

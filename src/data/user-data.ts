/**
 * A user's own data as a Dataset: the `image-folder` and `csv` datasets. Both read every sample,
 * split it (a train/test pair of folders or files when there is one, else a seeded, stratified
 * val fraction held out as the test split), and standardise with the train split's own
 * per-channel (per-feature) mean and std, since no published constants exist for them.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { csvClassNames, readCsvTable, type CsvTable } from './csv.js';
import { readImageFolder, type ImageFolderOptions } from './image-folder.js';
import { deriveSeed, permutation, Rng } from './random.js';
import type { Dataset, Normalization, SampleShape } from './types.js';

/** The share of samples held out as the test split when the data have no train/test pair. */
export const DEFAULT_VAL_FRACTION = 0.2;
/** The split and sample order are the same on every run, whatever the run's seed. */
const SPLIT_SEED = 0;
const SPLIT_STREAM = 3;
const ORDER_STREAM = 4;

export interface UserDataOptions extends ImageFolderOptions {
  split: 'train' | 'test';
  dataDir: string;
  limit?: number;
  normalize?: boolean;
  /** Held out as the test split when there is no train/test pair (default DEFAULT_VAL_FRACTION). */
  valFraction?: number;
  /** csv: the label column's name (default 'label'). */
  labelColumn?: string;
}

/** A loaded split and what `anneal data info` says about how it was made. */
export interface UserData {
  dataset: Dataset;
  /** How the train/test split was made. */
  splitFrom: string;
  /** Where the decoded pixels are cached (image-folder), and whether this load reused them. */
  cache?: string;
}

/** Every sample of the data, before the split. */
interface AllSamples {
  /** Raw values: pixel bytes (image-folder) or numbers (csv), sample-major. */
  values: Uint8Array | Float64Array;
  labels: Int32Array;
  /** Per sample: 1 when a train/test pair puts it in test. */
  isTest: Uint8Array | undefined;
  shape: SampleShape;
  classNames: string[];
  /** What the raw values are divided by before standardising (255 for pixels). */
  scale: number;
  source: string;
  pairName: string;
  cache?: string;
}

export async function loadUserDataset(
  name: 'image-folder' | 'csv',
  opts: UserDataOptions,
): Promise<UserData> {
  const all = name === 'image-folder' ? await imageSamples(opts) : csvSamples(opts);
  checkClasses(all);
  const isTest = all.isTest ?? valSplit(all.labels, all.classNames.length, opts);
  if (all.isTest && opts.valFraction !== undefined) {
    throw new UsageError(
      'ANNEAL_BAD_OPTION',
      `--val-fraction ${opts.valFraction} splits data that have no test part, but ${opts.dataDir} has ` +
        `${all.pairName}: leave out --val-fraction`,
    );
  }
  const trainIndices = splitIndices(isTest, 0);
  const normalization =
    opts.normalize === false ? null : meanStd(all, trainIndices, all.shape.at(-1) ?? 1);
  let indices = opts.split === 'train' ? trainIndices : splitIndices(isTest, 1);
  if (opts.limit !== undefined) indices = indices.subarray(0, opts.limit);
  const size = all.values.length / all.labels.length;
  const images = new Float32Array(indices.length * size);
  const channels = normalization?.mean.length ?? all.shape.at(-1) ?? 1;
  for (let i = 0; i < indices.length; i++) {
    const from = indices[i] * size;
    for (let j = 0; j < size; j++) {
      const c = j % channels;
      const x = all.values[from + j] / all.scale;
      images[i * size + j] = normalization ? (x - normalization.mean[c]) / normalization.std[c] : x;
    }
  }
  const pct = Math.round((opts.valFraction ?? DEFAULT_VAL_FRACTION) * 1000) / 10;
  return {
    dataset: {
      name,
      images,
      labels: Int32Array.from(indices, (i) => all.labels[i]),
      shape: [...all.shape] as SampleShape,
      numClasses: all.classNames.length,
      length: indices.length,
      classNames: [...all.classNames],
      normalization,
      source: all.source,
    },
    splitFrom: all.isTest
      ? all.pairName
      : `${pct}% of each class held out as the test split (seeded, the same every run)`,
    cache: all.cache,
  };
}

async function imageSamples(opts: UserDataOptions): Promise<AllSamples> {
  const dir = checkDir(
    opts.dataDir,
    'image-folder',
    'a folder with one sub-folder of images per class',
  );
  const folder = await readImageFolder(dir, opts);
  return {
    values: folder.pixels,
    labels: folder.labels,
    isTest: folder.hasTestFolder ? folder.isTest : undefined,
    shape: folder.shape,
    classNames: folder.classNames,
    scale: 255,
    source: dir,
    pairName: 'train/ and test/ folders',
    cache: `${folder.cacheFile} (${folder.cacheHit ? 'reused' : 'written'})`,
  };
}

/** A .csv file (split by val fraction), or a folder with train.csv and test.csv. */
function csvSamples(opts: UserDataOptions): AllSamples {
  const path = opts.dataDir;
  if (!existsSync(path)) {
    throw new UsageError(
      'ANNEAL_DATA_NOT_FOUND',
      `csv: ${path} does not exist: pass --data-dir <file.csv>, or a folder with train.csv and test.csv`,
    );
  }
  const tables: CsvTable[] = statSync(path).isDirectory()
    ? ['train.csv', 'test.csv'].map((f) => {
        if (!existsSync(join(path, f))) {
          throw new UsageError(
            'ANNEAL_DATA_NOT_FOUND',
            `csv: ${path} is a folder without ${f}: pass --data-dir <file.csv>, or a folder with train.csv and test.csv`,
          );
        }
        return readCsvTable(join(path, f), opts.labelColumn);
      })
    : [readCsvTable(path, opts.labelColumn)];
  const [train, test] = tables;
  if (test && `${test.featureNames}` !== `${train.featureNames}`) {
    throw new UsageError(
      'ANNEAL_DATA_BAD_CSV',
      `csv: ${test.path} has feature columns ${test.featureNames.join(', ')} but ${train.path} has ` +
        `${train.featureNames.join(', ')}: give both files the same columns`,
    );
  }
  const classNames = csvClassNames(train.labels);
  const labels = tables.flatMap((t) => t.labels);
  const unknown = test?.labels.find((l) => !classNames.includes(l));
  if (unknown !== undefined) {
    throw new UsageError(
      'ANNEAL_DATA_BAD_CLASS',
      `csv: ${test.path} has label '${unknown}', which ${train.path} does not (its classes: ${classNames.join(', ')}): ` +
        'every test class must be in the train file',
    );
  }
  const values = new Float64Array(tables.reduce((n, t) => n + t.features.length, 0));
  let at = 0;
  for (const t of tables) {
    values.set(t.features, at);
    at += t.features.length;
  }
  return {
    values,
    labels: Int32Array.from(labels, (l) => classNames.indexOf(l)),
    isTest: test ? Uint8Array.from(labels, (_, i) => (i < train.labels.length ? 0 : 1)) : undefined,
    shape: [train.featureNames.length],
    classNames,
    scale: 1,
    source: path,
    pairName: 'train.csv and test.csv',
  };
}

function checkDir(dir: string, title: string, expected: string): string {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UsageError(
      'ANNEAL_DATA_NOT_FOUND',
      `${title}: ${dir} is not a directory: pass --data-dir <${expected}>`,
    );
  }
  return dir;
}

/** Per sample, 1 for the held-out (test) part: round(fraction * n) of each class, seeded. */
function valSplit(labels: Int32Array, numClasses: number, opts: UserDataOptions): Uint8Array {
  const fraction = opts.valFraction ?? DEFAULT_VAL_FRACTION;
  if (!(fraction > 0 && fraction < 1)) {
    throw new UsageError(
      'ANNEAL_BAD_OPTION',
      `--val-fraction ${fraction} is not valid: expected a number in (0, 1) such as 0.2`,
    );
  }
  const isTest = new Uint8Array(labels.length);
  for (let c = 0; c < numClasses; c++) {
    const members = labels.reduce<number[]>((m, l, i) => (l === c ? [...m, i] : m), []);
    const order = permutation(members.length, new Rng(deriveSeed(SPLIT_SEED, SPLIT_STREAM, c)));
    const held = Math.round(fraction * members.length);
    for (let k = 0; k < held; k++) isTest[members[order[k]]] = 1;
  }
  const tests = isTest.reduce((n, t) => n + t, 0);
  if (tests === 0 || tests === labels.length) {
    throw new UsageError(
      'ANNEAL_BAD_OPTION',
      `--val-fraction ${fraction} of ${labels.length} samples leaves ${tests === 0 ? 'no test' : 'no train'} samples: ` +
        'choose a fraction that leaves samples on both sides, or add more data',
    );
  }
  return isTest;
}

/** The samples of one side of the split, in a seeded order (so --limit takes every class). */
function splitIndices(isTest: Uint8Array, side: 0 | 1): Int32Array {
  const members = Int32Array.from(isTest.keys()).filter((i) => isTest[i] === side);
  const order = permutation(members.length, new Rng(deriveSeed(SPLIT_SEED, ORDER_STREAM, side)));
  return Int32Array.from(order, (k) => members[k]);
}

/** A single class cannot be learned: refuse it (the train part holds every class name). */
function checkClasses(all: AllSamples): void {
  if (all.classNames.length < 2) {
    throw new UsageError(
      'ANNEAL_DATA_ONE_CLASS',
      `${all.source} has one class ('${all.classNames[0]}'): expected at least two classes to learn`,
    );
  }
}

/** Per-channel (csv: per-feature) mean and std of the train split, on the 1/scale scale. */
function meanStd(all: AllSamples, indices: Int32Array, channels: number): Normalization {
  const size = all.values.length / all.labels.length;
  const sum = new Float64Array(channels);
  const sumSq = new Float64Array(channels);
  for (const i of indices) {
    for (let j = 0; j < size; j++) {
      const x = all.values[i * size + j] / all.scale;
      sum[j % channels] += x;
      sumSq[j % channels] += x * x;
    }
  }
  const n = (indices.length * size) / channels;
  const mean = Array.from(sum, (s) => s / n);
  // A constant channel keeps std 1, so it maps to 0 instead of dividing by zero.
  const std = Array.from(sumSq, (s, c) => Math.sqrt(Math.max(s / n - mean[c] ** 2, 0)) || 1);
  return { mean, std, ...(all.scale === 1 ? { scale: 1 } : {}) };
}

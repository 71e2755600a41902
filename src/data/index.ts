/** Data: readers (IDX, CIFAR-10 binary), named data sets, synthetic data, loaders and splits. */
export type { Batch, Dataset, ImageShape, Normalization, SampleShape } from './types.js';
export { isImageShape, sampleSize } from './types.js';
export {
  classCounts,
  datasetInfo,
  DATASET_NAMES,
  DEFAULT_FASHION_MNIST_DIR,
  FASHION_MNIST_CLASSES,
  loadDataset,
  MNIST_CLASSES,
  type DatasetInfo,
  type DatasetName,
  type LoadDatasetOptions,
  type Split,
} from './datasets.js';
export { annealCacheDir } from './cache.js';
export { csvClassNames, DEFAULT_LABEL_COLUMN, readCsvTable, type CsvTable } from './csv.js';
export { readImageFolder, type DecodedFolder, type ImageFolderOptions } from './image-folder.js';
export { DEFAULT_VAL_FRACTION } from './user-data.js';
export { DataLoader, gather, splitValidation, subset, type DataLoaderOptions } from './loader.js';
export { NORMALIZATION, pixelsToFloat } from './normalize.js';
export { syntheticDataset, type SyntheticOptions } from './synthetic.js';
export {
  encodeIdx,
  parseIdx,
  readIdx,
  readIdxPair,
  writeIdx,
  type IdxArray,
  type IdxDtype,
  type IdxFile,
  type ReadIdxOptions,
} from './idx.js';
export {
  CIFAR10_CLASSES,
  CIFAR10_TEST_FILE,
  CIFAR10_TRAIN_FILES,
  CIFAR_RECORD_BYTES,
  parseCifarBatch,
  readCifarBatch,
  type CifarBatch,
} from './cifar.js';
export { deriveSeed, permutation, Rng } from './random.js';
export {
  addLabelNoise,
  checkLabelNoise,
  flipLabels,
  LABEL_NOISE_KINDS,
  type FlippedLabels,
  type LabelNoiseKind,
  type LabelNoiseOptions,
} from './label-noise.js';
export {
  augmentBatch,
  flipHorizontal,
  randomCrop,
  shiftImage,
  translate,
  type AugmentDraws,
  type AugmentOptions,
  type PadMode,
} from './augment.js';

/**
 * CIFAR-10 "binary version" batches (https://www.cs.toronto.edu/~kriz/cifar.html,
 * cifar-10-binary.tar.gz -> cifar-10-batches-bin/). Each record is 1 label byte followed by
 * 3072 pixel bytes: the 1024 red values of the 32x32 image row by row, then green, then blue
 * (CHW). anneal keeps images HWC, so the planes are interleaved on read.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';

export const CIFAR_SIDE = 32;
export const CIFAR_CHANNELS = 3;
export const CIFAR_PIXELS = CIFAR_SIDE * CIFAR_SIDE; // per channel plane
export const CIFAR_RECORD_BYTES = 1 + CIFAR_PIXELS * CIFAR_CHANNELS;
export const CIFAR10_TRAIN_FILES = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
export const CIFAR10_TEST_FILE = 'test_batch.bin';
export const CIFAR10_CLASSES = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];

export interface CifarBatch {
  /** count * 32 * 32 * 3 bytes, HWC. */
  pixels: Uint8Array;
  labels: Int32Array;
  count: number;
}

export function readCifarBatch(path: string, opts: { limit?: number } = {}): CifarBatch {
  return parseCifarBatch(readFileSync(path), path, opts);
}

/** Parses a CIFAR-10 binary batch already in memory; `source` names it in errors. */
export function parseCifarBatch(
  bytes: Uint8Array,
  source: string,
  opts: { limit?: number } = {},
): CifarBatch {
  if (bytes.length % CIFAR_RECORD_BYTES !== 0) {
    const hint =
      bytes.length % (CIFAR_RECORD_BYTES + 1) === 0
        ? ' (it is a multiple of 3074: CIFAR-100 records have 2 label bytes, which this reader does not take)'
        : '';
    throw new UsageError(
      'ANNEAL_CIFAR_BAD_SIZE',
      `${source} is ${bytes.length} bytes, not a multiple of ${CIFAR_RECORD_BYTES} ` +
        `(1 label byte + 3072 pixel bytes per image)${hint}: expected a CIFAR-10 binary batch ` +
        'from cifar-10-binary.tar.gz; the file may be truncated or be the Python/MATLAB version',
    );
  }
  const inFile = bytes.length / CIFAR_RECORD_BYTES;
  const count = opts.limit === undefined ? inFile : Math.min(inFile, opts.limit);
  const pixels = new Uint8Array(count * CIFAR_PIXELS * CIFAR_CHANNELS);
  const labels = new Int32Array(count);
  for (let r = 0; r < count; r++) {
    const record = r * CIFAR_RECORD_BYTES;
    const label = bytes[record];
    if (label >= CIFAR10_CLASSES.length) {
      throw new UsageError(
        'ANNEAL_DATA_BAD_LABEL',
        `${source}: record ${r} has label ${label}, expected 0..${CIFAR10_CLASSES.length - 1}: ` +
          'not a CIFAR-10 binary batch',
      );
    }
    labels[r] = label;
    const out = r * CIFAR_PIXELS * CIFAR_CHANNELS;
    for (let c = 0; c < CIFAR_CHANNELS; c++) {
      const plane = record + 1 + c * CIFAR_PIXELS;
      for (let p = 0; p < CIFAR_PIXELS; p++)
        pixels[out + p * CIFAR_CHANNELS + c] = bytes[plane + p];
    }
  }
  return { pixels, labels, count };
}

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  encodeIdx,
  parseIdx,
  readIdx,
  readIdxPair,
  writeIdx,
  type IdxDtype,
} from '../../src/data/idx.js';
import { assertAnnealError, idxBytes, tempDir } from './helpers.js';

const dir = tempDir('idx');

function file(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

// Values exactly representable in every type they are written as.
const typeCases: {
  dtype: IdxDtype;
  code: number;
  values: number[];
  write: (b: Buffer, v: number, o: number) => void;
  size: number;
  arrayType: string;
}[] = [
  {
    dtype: 'uint8',
    code: 0x08,
    values: [0, 1, 127, 128, 200, 255],
    write: (b, v, o) => b.writeUInt8(v, o),
    size: 1,
    arrayType: 'Uint8Array',
  },
  {
    dtype: 'int8',
    code: 0x09,
    values: [-128, -1, 0, 1, 100, 127],
    write: (b, v, o) => b.writeInt8(v, o),
    size: 1,
    arrayType: 'Int8Array',
  },
  {
    dtype: 'int16',
    code: 0x0b,
    values: [-32768, -300, 0, 1, 258, 32767],
    write: (b, v, o) => b.writeInt16BE(v, o),
    size: 2,
    arrayType: 'Int16Array',
  },
  {
    dtype: 'int32',
    code: 0x0c,
    values: [-2147483648, -70000, 0, 1, 65536, 2147483647],
    write: (b, v, o) => b.writeInt32BE(v, o),
    size: 4,
    arrayType: 'Int32Array',
  },
  {
    dtype: 'float32',
    code: 0x0d,
    values: [-1.5, -0.25, 0, 1, 3.75, 2 ** 100],
    write: (b, v, o) => b.writeFloatBE(v, o),
    size: 4,
    arrayType: 'Float32Array',
  },
  {
    dtype: 'float64',
    code: 0x0e,
    values: [-1e300, -0.1, 0, 1, Math.PI, 2 ** 60],
    write: (b, v, o) => b.writeDoubleBE(v, o),
    size: 8,
    arrayType: 'Float64Array',
  },
];

describe('IDX reader', () => {
  for (const t of typeCases) {
    test(`${t.dtype} (0x${t.code.toString(16)}) raw and gzipped, dims [2, 3]`, () => {
      const body = Buffer.alloc(t.values.length * t.size);
      t.values.forEach((v, i) => t.write(body, v, i * t.size));
      const bytes = idxBytes(t.code, [2, 3], body);
      for (const [name, content] of [
        [`${t.dtype}.idx`, bytes],
        [`${t.dtype}.idx.gz`, gzipSync(bytes)],
      ] as const) {
        const read = readIdx(file(name, content));
        assert.equal(read.dtype, t.dtype);
        // A plain typed array of the element type (not a Buffer view into the file).
        assert.equal(Object.getPrototypeOf(read.data).constructor.name, t.arrayType);
        assert.deepEqual(read.dims, [2, 3]);
        assert.equal(read.rowsInFile, 2);
        assert.deepEqual(Array.from(read.data), t.values);
      }
      // The writer produces the same bytes as the hand-built file, and reads back.
      const array = readIdx(join(dir, `${t.dtype}.idx`));
      assert.deepEqual(Buffer.from(encodeIdx(array)), bytes);
      const written = join(dir, `${t.dtype}.written.gz`);
      writeIdx(written, array, { gzip: true });
      assert.deepEqual(Array.from(readIdx(written).data), t.values);
    });
  }

  test('MNIST-like ubyte images [3, 2, 2]: row-major order, limit reads the first rows', () => {
    const pixels = Buffer.from([0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23]);
    const bytes = idxBytes(0x08, [3, 2, 2], pixels);
    for (const path of [file('img.idx', bytes), file('img.idx.gz', gzipSync(bytes))]) {
      const two = readIdx(path, { limit: 2 });
      assert.deepEqual(two.dims, [2, 2, 2]);
      assert.equal(two.rowsInFile, 3);
      assert.deepEqual(Array.from(two.data), [0, 1, 2, 3, 10, 11, 12, 13]);
      assert.deepEqual(readIdx(path, { limit: 99 }).dims, [3, 2, 2]);
    }
    assert.deepEqual(Array.from(parseIdx(bytes, 'memory', { limit: 1 }).data), [0, 1, 2, 3]);
  });

  test('a wrong magic number names the file and the magic', () => {
    const path = file('notidx.bin', Buffer.from([0x12, 0x34, 0x08, 0x01, 0, 0, 0, 1, 7]));
    assertAnnealError(() => readIdx(path), 'ANNEAL_IDX_BAD_MAGIC', [path, '0x12340801']);
    const gz = file('notidx.bin.gz', gzipSync(Buffer.from('hello, not an idx file')));
    assertAnnealError(() => readIdx(gz), 'ANNEAL_IDX_BAD_MAGIC', [gz]);
  });

  test('an unknown type code names the file and the code', () => {
    const path = file('badtype.idx', idxBytes(0x0a, [1], Buffer.from([1])));
    assertAnnealError(() => readIdx(path), 'ANNEAL_IDX_UNKNOWN_TYPE', [path, '0x0a']);
  });

  test('a truncated file says expected and actual bytes', () => {
    // Header 4 + 2*4 = 12 bytes, then 2*3 = 6 data bytes: 18 expected; 4 data bytes given: 16.
    const bytes = idxBytes(0x08, [2, 3], Buffer.from([1, 2, 3, 4]));
    const path = file('short.idx', bytes);
    assertAnnealError(() => readIdx(path), 'ANNEAL_IDX_TRUNCATED', [path, '18', '16']);
    assertAnnealError(() => readIdx(path, { limit: 1 }), 'ANNEAL_IDX_TRUNCATED', [
      path,
      '18',
      '16',
    ]);
    const gz = file('short.idx.gz', gzipSync(bytes));
    assertAnnealError(() => readIdx(gz), 'ANNEAL_IDX_TRUNCATED', [gz, '18', '16']);
    // The header itself cut short: 3 dims need 16 header bytes, 10 given.
    const head = file('head.idx', idxBytes(0x08, [1, 1, 1], Buffer.alloc(0)).subarray(0, 10));
    assertAnnealError(() => readIdx(head), 'ANNEAL_IDX_TRUNCATED', [head, '16', '10']);
  });

  test('trailing bytes and broken gzip are reported with the path', () => {
    const long = file('long.idx', idxBytes(0x08, [2], Buffer.from([1, 2, 3])));
    assertAnnealError(() => readIdx(long), 'ANNEAL_IDX_TRAILING_BYTES', [long, '11', '10']);
    const broken = file('broken.gz', Buffer.from([0x1f, 0x8b, 1, 2, 3, 4, 5]));
    assertAnnealError(() => readIdx(broken), 'ANNEAL_IDX_BAD_GZIP', [broken]);
  });

  test('an images/labels pair with different counts names both files and counts', () => {
    const images = file('pair-images.idx', idxBytes(0x08, [3, 1, 1], Buffer.from([1, 2, 3])));
    const labels = file('pair-labels.idx', idxBytes(0x08, [2], Buffer.from([0, 1])));
    assertAnnealError(() => readIdxPair(images, labels), 'ANNEAL_DATA_COUNT_MISMATCH', [
      images,
      labels,
      '3 images',
      '2 labels',
    ]);
    // Also when only a prefix is read: the counts of the whole files must agree.
    assertAnnealError(
      () => readIdxPair(images, labels, { limit: 1 }),
      'ANNEAL_DATA_COUNT_MISMATCH',
      [images],
    );
  });
});

/**
 * Crafted checkpoint headers: every header encodeCheckpoint would not write (a field of the
 * wrong type, a shape that disagrees with the length, values outside the file or overlapping)
 * is refused with one line that names the file, the field and what was expected, instead of a
 * stack trace or a model trained on garbage.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AnnealError } from '../../src/errors.js';
import { encodeCheckpoint, loadCheckpoint } from '../../src/train/checkpoint.js';

const dir = mkdtempSync(join(tmpdir(), 'anneal-ck-header-'));

/** A checkpoint file as encodeCheckpoint lays it out, with any header and `floats` values. */
function craft(name: string, header: unknown, floats: number): string {
  const json = Buffer.from(JSON.stringify(header));
  const dataStart = (12 + json.length + 3) & ~3;
  const bytes = Buffer.alloc(dataStart + floats * 4);
  bytes.write('ANNEALCK', 0, 'latin1');
  bytes.writeUInt32LE(json.length, 8);
  json.copy(bytes, 12);
  for (let i = 0; i < floats; i++) bytes.writeFloatLE(i, dataStart + i * 4);
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

const entry = (fields: Record<string, unknown> = {}) => ({
  name: 'w',
  shape: [2, 2],
  dtype: 'float32',
  offset: 0,
  length: 4,
  ...fields,
});

const header = (fields: Record<string, unknown> = {}) => ({
  version: 1,
  tensors: [entry()],
  meta: {},
  ...fields,
});

function assertRefused(path: string, expected: RegExp): void {
  assert.throws(
    () => loadCheckpoint(path),
    (e: unknown) => {
      assert.ok(e instanceof AnnealError, `${path}: ${String(e)}`);
      assert.equal(e.code, 'ANNEAL_CHECKPOINT_CORRUPT');
      assert.ok(e.message.includes(path), `names the file: ${e.message}`);
      assert.match(e.message, expected);
      assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
      return true;
    },
  );
}

test('the crafting helper writes what encodeCheckpoint writes', () => {
  const path = craft('good.ck', header(), 4);
  const encoded = encodeCheckpoint({
    tensors: [{ name: 'w', shape: [2, 2], data: Float32Array.from([0, 1, 2, 3]) }],
    meta: {},
  });
  assert.deepEqual(new Uint8Array(readFileSync(path)), new Uint8Array(encoded));
  const back = loadCheckpoint(path);
  assert.deepEqual(Array.from(back.tensors[0].data), [0, 1, 2, 3]);
});

test('"tensors": null and other mistyped fields are refused naming the field', () => {
  const cases: [string, unknown, RegExp][] = [
    [
      'null-tensors.ck',
      header({ tensors: null }),
      /header field tensors: expected an array, received null/,
    ],
    ['object-tensors.ck', header({ tensors: {} }), /header field tensors: expected an array/],
    ['null-header.ck', null, /header: expected a JSON object, received null/],
    ['array-header.ck', [], /header: expected a JSON object/],
    ['no-meta.ck', header({ meta: undefined }), /header field meta: expected a JSON object/],
    [
      'null-entry.ck',
      header({ tensors: [null] }),
      /header field tensors\[0\]: expected a JSON object/,
    ],
    [
      'name.ck',
      header({ tensors: [entry({ name: 7 })] }),
      /header field tensors\[0\]\.name: expected a string, received 7/,
    ],
    [
      'shape-null.ck',
      header({ tensors: [entry({ shape: null })] }),
      /header field tensors\[0\]\.shape: expected an array/,
    ],
    [
      'shape-neg.ck',
      header({ tensors: [entry({ shape: [-2, -2] })] }),
      /header field tensors\[0\]\.shape\[0\]: expected a number >= 0, received -2/,
    ],
    [
      'shape-frac.ck',
      header({ tensors: [entry({ shape: [2.5, 2] })] }),
      /header field tensors\[0\]\.shape\[0\]: expected an integer, received 2\.5/,
    ],
    [
      'shape-str.ck',
      header({ tensors: [entry({ shape: ['2', 2] })] }),
      /header field tensors\[0\]\.shape\[0\]: expected a number, received "2"/,
    ],
    [
      'dtype.ck',
      header({ tensors: [entry({ dtype: 'float64' })] }),
      /header field tensors\[0\]\.dtype: expected "float32", received "float64"/,
    ],
    [
      'offset.ck',
      header({ tensors: [entry({ offset: -4 })] }),
      /header field tensors\[0\]\.offset: expected a number >= 0, received -4/,
    ],
    [
      'length.ck',
      header({ tensors: [entry({ length: '4' })] }),
      /header field tensors\[0\]\.length: expected a number, received "4"/,
    ],
    ['version.ck', header({ version: 2 }), /version 2, expected 1/],
  ];
  for (const [name, value, expected] of cases) assertRefused(craft(name, value, 4), expected);
});

test('a shape that disagrees with its length is refused, not trained', () => {
  // The file: a [3,3] tensor said to hold 16,384 values, all present in the file.
  const path = craft(
    'shape.ck',
    header({ tensors: [entry({ shape: [3, 3], length: 16384 })] }),
    16384,
  );
  assertRefused(
    path,
    /header field tensors\[0\] \("w"\)\.shape: \[3,3\] holds 9 values, expected a shape of 16384 values \(its length\)/,
  );
  const scalar = craft('scalar.ck', header({ tensors: [entry({ shape: [], length: 2 })] }), 2);
  assertRefused(scalar, /tensors\[0\] \("w"\)\.shape: \[\] holds 1 values/);
});

test('offsets and lengths must lie in the file and not overlap', () => {
  const past = craft('past.ck', header({ tensors: [entry({ offset: 6 })] }), 8);
  assertRefused(
    past,
    /header field tensors\[0\] \("w"\)\.offset: 6 \+ length 4 runs past the 8 values in the file, expected offset \+ length <= 8/,
  );
  const overlap = craft(
    'overlap.ck',
    header({ tensors: [entry(), entry({ name: 'v', offset: 2 })] }),
    8,
  );
  assertRefused(
    overlap,
    /header field tensors\[1\] \("v"\)\.offset: 2 overlaps another tensor, expected >= 4/,
  );
  const short = craft(
    'short.ck',
    header({ tensors: [entry(), entry({ name: 'v', offset: 4 })] }),
    6,
  );
  assertRefused(short, /truncated data: 24 bytes, expected 32/);
});

test('what encodeCheckpoint writes still loads: no tensors, empty and scalar tensors, any order', () => {
  const empty = craft('empty.ck', header({ tensors: [] }), 0);
  assert.deepEqual(loadCheckpoint(empty).tensors, []);
  const mixed = craft(
    'mixed.ck',
    header({
      tensors: [
        entry({ name: 'b', offset: 4, shape: [], length: 1 }),
        entry({ name: 'z', offset: 4, shape: [0, 3], length: 0 }),
        entry({ name: 'a', offset: 0 }),
      ],
    }),
    5,
  );
  const back = loadCheckpoint(mixed);
  assert.deepEqual(
    back.tensors.map((t) => [t.name, t.shape, Array.from(t.data)]),
    [
      ['b', [], [4]],
      ['z', [0, 3], []],
      ['a', [2, 2], [0, 1, 2, 3]],
    ],
  );
});

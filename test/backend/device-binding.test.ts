/**
 * The kernels addon's DeviceVector dtypes and its `device` object (backend_addon.cc in vector
 * mode), on anneal_cpu.node, the host build of the CUDA device: dtypes and byte sizes, transfers
 * of each dtype, and the coded refusals (wrong dtype, wrong length, a freed vector, an array
 * where a vector belongs) that keep a wrong argument from reaching a kernel. The round trips
 * run on anneal_cuda.node too where a GPU answers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadAddon } from '../../src/addons.js';
import { probeCuda } from '../../src/kernels/cuda.js';
import { cudaSkip } from '../kernels/helpers.js';

type Dtype = 'float32' | 'int32' | 'bool';
interface Vector {
  readonly length: number;
  readonly dtype: Dtype;
  readonly byteLength: number;
  readonly alive: boolean;
  free(): void;
  view(offset: number, length: number, dtype?: 'float32' | 'int32'): Vector;
}
type Host = Float32Array | Int32Array | Uint8Array;
interface KernelsAddon {
  DeviceVector: new (
    length: number,
    dtype?: string,
    options?: { collectable?: boolean; zeroed?: boolean },
  ) => Vector;
  upload(v: Vector, data: Host, offset?: number): void;
  download(v: Vector, out: Host): void;
  copy(dst: Vector, src: Vector): void;
  copyBatch(dsts: Vector[], srcs: Vector[]): void;
  scale(x: Vector, alpha: number): void;
  axpy(y: Vector, alpha: number, x: Vector): void;
  dot(a: Vector, b: Vector): number;
  externalMemory(): number;
  device: {
    describe(): string;
    setThreads(n: number): number;
    unary(op: number, x: Vector, y: Vector, alpha: number): void;
    matmul(a: Vector, b: Vector, bias: Vector | null, c: Vector, ...rest: number[]): void;
    select(condition: Vector, t: Vector, e: Vector, out: Vector): void;
  };
}

const loaded = loadAddon<KernelsAddon>('anneal_cpu.node', 'run `npm run build:addon`');
if ('reason' in loaded && process.env.ANNEAL_REQUIRE_HOST === '1') {
  throw new Error(`ANNEAL_REQUIRE_HOST=1 but anneal_cpu.node cannot load: ${loaded.reason}`);
}
const skip = 'reason' in loaded ? loaded.reason : false;
const addon = () => (loaded as { addon: KernelsAddon }).addon;

/** Asserts that `f` throws an error with `code` whose message matches `message`. */
function refuses(f: () => unknown, code: string, message: RegExp): void {
  assert.throws(f, (e: Error & { code?: string }) => {
    assert.equal(e.code, code, e.message);
    assert.match(e.message, message);
    return true;
  });
}

const arrays: Record<Dtype, (values: number[]) => Host> = {
  float32: (v) => Float32Array.from(v),
  int32: (v) => Int32Array.from(v),
  bool: (v) => Uint8Array.from(v),
};

test('DeviceVector: dtype (float32 by default), length and byte sizes', { skip }, () => {
  const { DeviceVector, externalMemory } = addon();
  const cases: [Dtype | undefined, number, number, number][] = [
    // dtype, length, byteLength, bytes allocated (whole floats, at least one)
    [undefined, 7, 28, 28],
    ['float32', 0, 0, 4],
    ['int32', 5, 20, 20],
    ['bool', 5, 5, 8],
    ['bool', 8, 8, 8],
    ['bool', 0, 0, 4],
  ];
  for (const [dtype, length, byteLength, allocated] of cases) {
    const before = externalMemory();
    const v = dtype === undefined ? new DeviceVector(length) : new DeviceVector(length, dtype);
    assert.equal(v.dtype, dtype ?? 'float32');
    assert.equal(v.length, length);
    assert.equal(v.byteLength, byteLength, `${dtype} x ${length}: byteLength`);
    assert.equal(externalMemory() - before, allocated, `${dtype} x ${length}: bytes told to V8`);
    v.free();
    assert.equal(externalMemory(), before);
  }
  refuses(
    () => new DeviceVector(3, 'float64'),
    'ANNEAL_KERNEL_DTYPE',
    /dtype: expected 'float32', 'int32' or 'bool'/,
  );
});

test(
  'DeviceVector { collectable: false } tells V8 nothing of its memory; true (the default) does',
  { skip },
  () => {
    const { DeviceVector, externalMemory } = addon();
    const before = externalMemory();
    const held = new DeviceVector(1000, 'float32', { collectable: false });
    assert.equal(externalMemory(), before, 'a vector its owner frees adds nothing');
    held.free();
    assert.equal(externalMemory(), before, 'and its free takes nothing away');
    const told = new DeviceVector(1000, 'float32', { collectable: true });
    assert.equal(externalMemory() - before, 4000);
    told.free();
    assert.equal(externalMemory(), before);
  },
);

test(
  'DeviceVector { zeroed: false } skips the zeroing; the host build fills it with 0xFF bytes',
  { skip },
  () => {
    const { DeviceVector, download } = addon();
    // 0xFF in every byte: a NaN as float32 (exponent all ones, mantissa nonzero), -1 as int32
    // (two's complement), 255 as a bool byte; and a default vector still reads as zeros.
    const expected = { float32: NaN, int32: -1, bool: 255 };
    for (const dtype of ['float32', 'int32', 'bool'] as const) {
      const v = new DeviceVector(5, dtype, { collectable: false, zeroed: false });
      const out = arrays[dtype]([7, 7, 7, 7, 7]);
      download(v, out);
      assert.deepEqual([...out], new Array(5).fill(expected[dtype]), dtype);
      v.free();
      const zeroed = new DeviceVector(5, dtype, { zeroed: true });
      download(zeroed, out);
      assert.deepEqual([...out], [0, 0, 0, 0, 0], `${dtype}: zeroed: true`);
      zeroed.free();
    }
  },
);

/** Round trips of each dtype on `addon` (the host build, and the GPU's where one answers). */
function roundTrips(addon: KernelsAddon): void {
  const { DeviceVector, upload, download, copy } = addon;
  const values: Record<Dtype, number[]> = {
    float32: [1.5, -2.25, 3e-7, -0, 65504, Infinity, NaN],
    int32: [1, -2, 2147483647, -2147483648, 0, 42, -7],
    bool: [1, 0, 0, 1, 1, 0, 1],
  };
  for (const dtype of ['float32', 'int32', 'bool'] as const) {
    const v = new DeviceVector(7, dtype);
    const zeros = arrays[dtype](new Array(7).fill(0));
    download(v, zeros);
    assert.deepEqual([...zeros], new Array(7).fill(0), `${dtype}: a new vector is zeroed`);
    const data = arrays[dtype](values[dtype]);
    upload(v, data);
    const out = arrays[dtype](new Array(7).fill(0));
    download(v, out);
    assert.deepEqual(out, data, `${dtype}: round trip, bit for bit`);
    // An offset counts values, not bytes (a bool is one byte, the others four).
    upload(v, arrays[dtype]([0, 1]), 3);
    download(v, out);
    const want = [...data];
    want.splice(3, 2, 0, 1);
    assert.deepEqual([...out], want, `${dtype}: upload at offset 3`);
    // A view into a larger buffer transfers its own values only.
    const big = arrays[dtype]([9, 9, 1, 0, 1, 0, 1, 0, 1, 9]);
    upload(v, big.subarray(2, 9));
    const copied = new DeviceVector(7, dtype);
    copy(copied, v);
    download(copied, out);
    assert.deepEqual([...out], [1, 0, 1, 0, 1, 0, 1], `${dtype}: subarray upload, then copy`);
    v.free();
    copied.free();
  }
}

test('upload / download round trips for each dtype, with offsets', { skip }, () =>
  roundTrips(addon()),
);

/**
 * copyBatch on `addon`: every pair copied bit for bit, whatever its dtype, length and alignment
 * (views at odd offsets, bool vectors of odd byte counts, a pair larger than one pass of the
 * GPU's grid), more pairs than one launch takes, and nothing outside the destinations touched.
 */
function copyBatches(addon: KernelsAddon): void {
  const { DeviceVector, upload, download, copyBatch } = addon;
  let state = 12345;
  /** A fixed pseudo-random sequence (LCG): values whose every bit the copy must keep. */
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0);
  const floats = (n: number) => Float32Array.from({ length: n }, () => next() / 2 ** 31 - 1);
  // Sources: one flat float vector cut into views at odd offsets, and standalone vectors.
  const flat = new DeviceVector(2_000_010);
  const flatValues = floats(2_000_010);
  upload(flat, flatValues);
  const spans: [number, number][] = [
    [1, 1_500_001],
    [1_500_002, 7],
    [1_500_009, 0],
    [1_600_000, 400_008],
  ];
  // Destinations: one vector of sentinels, cut the same way, so untouched bytes show.
  const target = new DeviceVector(2_000_010);
  upload(target, new Float32Array(2_000_010).fill(-7));
  const dsts: Vector[] = spans.map(([o, n]) => target.view(o, n));
  const srcs: Vector[] = spans.map(([o, n]) => flat.view(o, n));
  const expected = new Float32Array(2_000_010).fill(-7);
  for (const [o, n] of spans) expected.set(flatValues.subarray(o, o + n), o);
  // int32 and bool pairs (a bool is one byte: 5 bytes cannot move as words).
  const ints = Int32Array.from({ length: 9 }, () => next() | 0);
  const bools = Uint8Array.from([1, 0, 1, 1, 0]);
  const pairs = { int32: ints, bool: bools };
  const extra: { dst: Vector; src: Vector; want: Host }[] = [];
  for (const [dtype, values] of Object.entries(pairs) as ['int32' | 'bool', Host][]) {
    const src = new DeviceVector(values.length, dtype);
    upload(src, values);
    extra.push({ dst: new DeviceVector(values.length, dtype), src, want: values });
  }
  // More pairs than a launch takes (48): 100 one-float vectors.
  for (let i = 0; i < 100; i++) {
    const src = new DeviceVector(1);
    const want = floats(1);
    upload(src, want);
    extra.push({ dst: new DeviceVector(1), src, want });
  }
  // A vector onto itself is allowed (nothing to do).
  extra.push({ dst: flat, src: flat, want: flatValues });
  copyBatch([...dsts, ...extra.map((e) => e.dst)], [...srcs, ...extra.map((e) => e.src)]);
  const out = new Float32Array(2_000_010);
  download(target, out);
  assert.ok(
    out.every((v, i) => Object.is(v, expected[i])),
    'float32 views: each copied, the rest untouched',
  );
  for (const { dst, want } of extra) {
    const got = new (want.constructor as new (n: number) => Host)(want.length);
    download(dst, got);
    assert.deepEqual(got, want, `${dst.dtype} x ${dst.length}`);
  }
  for (const v of [flat, target, ...extra.flatMap((e) => [e.dst, e.src])]) if (v.alive) v.free();
}

test('copyBatch copies every pair bit for bit, any dtype, length or alignment', { skip }, () =>
  copyBatches(addon()),
);

test('copyBatch refuses unequal lists, a mismatched pair and overlapping vectors', { skip }, () => {
  const { DeviceVector, copyBatch } = addon();
  const a = new DeviceVector(8);
  const b = new DeviceVector(8);
  const c = new DeviceVector(4, 'int32');
  refuses(() => copyBatch([a], [b, a]), 'ANNEAL_KERNEL_LENGTH', /^srcs: 2 vectors, expected 1/);
  refuses(() => copyBatch(a as never, [b]), 'ANNEAL_KERNEL_ARGUMENT', /^dsts: expected an array/);
  refuses(
    () => copyBatch([a, c], [b, a.view(0, 4)]),
    'ANNEAL_KERNEL_DTYPE',
    /^srcs\[1\]: a float32 vector, expected int32 \(the dtype of dsts\[1\]\)/,
  );
  refuses(
    () => copyBatch([a.view(0, 4)], [b]),
    'ANNEAL_KERNEL_LENGTH',
    /^srcs\[0\]: length 8, expected 4 \(the length of dsts\[0\]\)/,
  );
  // Two destinations sharing bytes, a destination inside another pair's source, and a pair
  // whose own ends overlap: the GPU copies the pairs at once, so each would race.
  const overlap = /copyBatch: pair \d+('s| and pair \d+'s) vectors overlap/;
  refuses(
    () => copyBatch([a.view(0, 4), a.view(3, 4)], [b.view(0, 4), b.view(4, 4)]),
    'ANNEAL_KERNEL_ARGUMENT',
    overlap,
  );
  refuses(
    () => copyBatch([a.view(0, 4), b.view(0, 4)], [b.view(4, 4), a.view(2, 4)]),
    'ANNEAL_KERNEL_ARGUMENT',
    overlap,
  );
  refuses(
    () => copyBatch([a.view(0, 4)], [a.view(2, 4)]),
    'ANNEAL_KERNEL_ARGUMENT',
    /pair 0's vectors overlap/,
  );
  // Two sources may share bytes (only destinations are written).
  copyBatch([b.view(0, 4), b.view(4, 4)], [a.view(0, 4), a.view(2, 4)]);
  a.free();
  refuses(() => copyBatch([b], [a]), 'ANNEAL_KERNEL_FREED', /srcs\[0\]/);
  b.free();
  c.free();
});

const cuda = probeCuda();
const cudaLoaded = loadAddon<KernelsAddon>('anneal_cuda.node', 'run `npm run build:addon`');

test(
  'anneal_cuda.node: the same device functions, and describe() says the GPU, its GEMM and its convolutions',
  { skip: 'reason' in cudaLoaded ? cudaLoaded.reason : false },
  () => {
    const gpu = (cudaLoaded as { addon: KernelsAddon }).addon.device;
    assert.deepEqual(Object.keys(gpu).sort(), Object.keys(addon().device).sort());
    // Without a usable GPU it says so rather than failing; with one, which GEMM runs and
    // whether cuDNN does the convolutions (or im2col, and why not).
    const gemm =
      /^cuda: .+, (cuBLAS \d+\.\d+\.\d+|built-in GEMM \(.+\)), (cuDNN \d+\.\d+\.\d+|im2col convolutions \(.+\))$/;
    const pattern = cuda.ok ? gemm : new RegExp(`^cuda: no usable device$|${gemm.source}`);
    assert.match(gpu.describe(), pattern);
  },
);
test(
  'anneal_cuda.node: the same round trips and batched copies in device memory (bool vectors copy single bytes)',
  { skip: cudaSkip(cuda.ok ? false : cuda.reason!) },
  () => {
    const loadedCuda = loadAddon<KernelsAddon>('anneal_cuda.node', 'run `npm run build:addon`');
    assert.ok('addon' in loadedCuda);
    roundTrips(loadedCuda.addon);
    copyBatches(loadedCuda.addon);
  },
);

test('transfers refuse the wrong typed array, a wrong length and a freed vector', { skip }, () => {
  const { DeviceVector, upload, download, copy } = addon();
  const f = new DeviceVector(4);
  const i = new DeviceVector(4, 'int32');
  const b = new DeviceVector(4, 'bool');
  refuses(
    () => upload(f, new Int32Array(4)),
    'ANNEAL_KERNEL_ARGUMENT',
    /data: expected a Float32Array \(the vector is float32\)/,
  );
  refuses(
    () => upload(i, new Float32Array(4)),
    'ANNEAL_KERNEL_ARGUMENT',
    /data: expected an Int32Array/,
  );
  refuses(
    () => download(b, new Int8Array(4) as never),
    'ANNEAL_KERNEL_ARGUMENT',
    /out: expected a Uint8Array \(the vector is bool\)/,
  );
  refuses(
    () => upload(b, new Uint8Array(3), 2),
    'ANNEAL_KERNEL_LENGTH',
    /does not fit in the vector of 4/,
  );
  refuses(
    () => download(i, new Int32Array(5)),
    'ANNEAL_KERNEL_LENGTH',
    /out: length 5, expected 4/,
  );
  refuses(() => copy(f, i), 'ANNEAL_KERNEL_DTYPE', /src: a int32 vector, expected a float32 one/);
  refuses(
    () => copy(b, new DeviceVector(5, 'bool')),
    'ANNEAL_KERNEL_LENGTH',
    /src: length 5, expected 4/,
  );
  b.free();
  refuses(
    () => download(b, new Uint8Array(4)),
    'ANNEAL_KERNEL_FREED',
    /vector: the vector was freed/,
  );
  refuses(() => b.free(), 'ANNEAL_KERNEL_FREED', /already freed/);
  f.free();
  i.free();
});

test('the flat kernels take float32 vectors only, and say so', { skip }, () => {
  const { DeviceVector, scale, axpy, dot } = addon();
  const f = new DeviceVector(3);
  const i = new DeviceVector(3, 'int32');
  const b = new DeviceVector(3, 'bool');
  refuses(() => scale(i, 2), 'ANNEAL_KERNEL_DTYPE', /^x: a int32 vector, expected a float32 one/);
  refuses(() => axpy(f, 1, b), 'ANNEAL_KERNEL_DTYPE', /^x: a bool vector, expected a float32 one/);
  refuses(() => dot(i, f), 'ANNEAL_KERNEL_DTYPE', /^a: a int32 vector/);
  assert.equal(dot(f, f), 0);
  for (const v of [f, i, b]) v.free();
});

test(
  "device: describe, setThreads, and its functions take vectors in the typed arrays' roles",
  { skip },
  () => {
    const { DeviceVector, device, upload, download } = addon();
    assert.match(device.describe(), /^host build of the CUDA device, \d+ threads?$/);
    assert.equal(device.setThreads(3), 3);
    assert.match(device.describe(), /, 3 threads$/);
    assert.equal(device.setThreads(1), 1);
    assert.match(device.describe(), /, 1 thread$/);
    device.setThreads(0);

    // Typed arrays are the host device's arguments, not this one's.
    const x = new DeviceVector(4);
    const y = new DeviceVector(4);
    refuses(
      () => device.unary(0, x, new Float32Array(4) as never, 0),
      'ANNEAL_DEVICE_ARGUMENT',
      /^y must be a float32 DeviceVector/,
    );
    refuses(
      () => device.unary(0, x, new DeviceVector(4, 'int32'), 0),
      'ANNEAL_DEVICE_ARGUMENT',
      /^y must be a float32 DeviceVector/,
    );
    refuses(
      () => device.unary(0, x, new DeviceVector(5), 0),
      'ANNEAL_DEVICE_ARGUMENT',
      /^y has 5 values, expected 4/,
    );
    // matmul(a [1,2,3], b [1,3,2], bias null, c [1,2,2], batchA, batchB, m, k, n, ...): c is 4 values.
    refuses(
      () =>
        device.matmul(
          new DeviceVector(6),
          new DeviceVector(6),
          null,
          new DeviceVector(5),
          1,
          1,
          2,
          3,
          2,
          0,
          0,
          0,
          0,
        ),
      'ANNEAL_DEVICE_ARGUMENT',
      /^c has 5 values, expected 4/,
    );
    // Select reads the condition's dtype from the vector, as the host device does from the array.
    const bools = new DeviceVector(4, 'bool');
    refuses(
      () => device.select(x, x, x, y),
      'ANNEAL_DEVICE_ARGUMENT',
      /^condition must be a bool DeviceVector/,
    );
    y.free();
    refuses(() => device.unary(0, x, y, 0), 'ANNEAL_KERNEL_FREED', /the vector was freed/);
    upload(x, Float32Array.from([1, 2, 3, 4]));
    const out = new Float32Array(4);
    download(x, out);
    assert.deepEqual([...out], [1, 2, 3, 4]);
    x.free();
    bools.free();
  },
);

/**
 * Helpers of the FlatOps suite: test data, the backends present, running an op on a backend and
 * on the js oracle, and tolerance checks. Imports only node builtins and src/kernels, so the suite
 * also runs compiled (dist/test/kernels) on a machine without node_modules.
 */
import assert from 'node:assert/strict';
import { KernelError, createFlatOps, createJsOps } from '../../src/kernels/index.js';
import type { FlatOps, FlatVector, KernelBackendName } from '../../src/kernels/index.js';

// ---- backends ---------------------------------------------------------------------------------

export interface BackendUnderTest {
  name: KernelBackendName;
  create: () => FlatOps;
  /** Why the backend is skipped here (only cuda and host may be absent). */
  skip?: string;
}

/**
 * Why the host kernels (anneal_cpu.node) are skipped here, or false when they load. Building
 * them needs only cmake and g++, so CI has them: with ANNEAL_REQUIRE_HOST=1 (as CI runs) a
 * missing build throws instead of skipping.
 */
export function hostKernelsSkip(): string | false {
  try {
    createFlatOps('host').dispose();
    return false;
  } catch (e) {
    if (process.env.ANNEAL_REQUIRE_HOST === '1') {
      throw new Error(`ANNEAL_REQUIRE_HOST=1 but the host kernels cannot load: ${firstLine(e)}`);
    }
    return `the host kernels are not built here (${firstLine(e)})`;
  }
}

/**
 * `reason` (why a cuda test is skipped here) or false. With ANNEAL_REQUIRE_CUDA=1, as
 * bench/device-check.sh runs on the GPU machine, a reason throws instead, so that a cuda test that
 * could not run fails the check rather than passing as skipped (as ANNEAL_REQUIRE_HOST=1 does for
 * the host kernels in CI).
 */
export function cudaSkip(reason: string | false): string | false {
  if (reason && process.env.ANNEAL_REQUIRE_CUDA === '1') {
    throw new Error(`ANNEAL_REQUIRE_CUDA=1 but the cuda kernels cannot run: ${reason}`);
  }
  return reason;
}

/** js and wasm always (a missing wasm build fails the suite); host and cuda when they load. */
export function backendsUnderTest(): BackendUnderTest[] {
  const backends: BackendUnderTest[] = [
    { name: 'js', create: () => createFlatOps('js') },
    { name: 'wasm', create: () => createFlatOps('wasm') },
  ];
  const hostSkip = hostKernelsSkip();
  backends.push({
    name: 'host',
    create: () => createFlatOps('host'),
    ...(hostSkip ? { skip: hostSkip } : {}),
  });
  try {
    createFlatOps('cuda').dispose();
    backends.push({ name: 'cuda', create: () => createFlatOps('cuda') });
  } catch (e) {
    const skip = cudaSkip(firstLine(e));
    backends.push({ name: 'cuda', create: () => createFlatOps('cuda'), ...(skip ? { skip } : {}) });
  }
  return backends;
}

const firstLine = (e: unknown) =>
  (e instanceof Error ? e.message : String(e)).split('\n')[1]?.trim() ?? String(e);

export const oracle: FlatOps = createJsOps();

/** The AdamW step the kernel tests run (decoupled decay, a few steps in). */
export const ADAMW = {
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0.01,
  decoupled: true,
  step: 3,
};

// ---- data -------------------------------------------------------------------------------------

/** mulberry32: a small seeded PRNG for test data (independent of the Philox under test). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Normal(0, 1)-ish values with some exact +0/-0 and subnormals. */
export function ordinary(n: number, seed: number): Float32Array {
  const rand = prng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.01) out[i] = r < 0.005 ? 0 : -0;
    else if (r < 0.02)
      out[i] = (rand() - 0.5) * 1e-39; // subnormal
    else out[i] = Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  }
  return out;
}

export const SPECIAL_VALUES = [
  0,
  -0,
  1e-45, // smallest subnormal
  -3e-39,
  1.1754943508222875e-38, // smallest normal
  1e30,
  -1e36,
  3.4028234663852886e38, // float32 max
  -3.4028234663852886e38,
  NaN,
  Infinity,
  -Infinity,
];

/**
 * ordinary(n, seed) with special values (+-0, subnormals, huge, NaN, +-Inf) at a quarter of the
 * indices i = operand (mod 4): the operands of one call get their specials at different indices,
 * so that no element combines two huge values (float32 and float64 intermediates would then
 * legitimately differ, e.g. FLT_MAX - (-FLT_MAX)).
 */
export function special(n: number, seed: number, operand: number): Float32Array {
  const out = ordinary(n, seed);
  const rand = prng(seed ^ 0x5bd1e995);
  for (let i = operand % 4; i < n; i += 4) {
    if (rand() < 0.25) out[i] = SPECIAL_VALUES[Math.floor(rand() * SPECIAL_VALUES.length)];
  }
  return out;
}

/** 0/1 mask with about `zeros` of its entries 0. */
export function binaryMask(n: number, seed: number, zeros = 0.3): Float32Array {
  const rand = prng(seed);
  return Float32Array.from({ length: n }, () => (rand() < zeros ? 0 : 1));
}

/**
 * Philox words that the old uniform, (w0 + 0.5) 2^-32 rounded to float32, turned into exactly 1:
 * w0 >= 2^32 - 128. Found by a search over seeds at stream 0, i < 4 (about one draw in 2^25);
 * the tests recompute w0 with the reference Philox before relying on it.
 */
export const UNIFORM_TOP_WORDS = [
  { seed: 2472697, index: 1, w0: 0xffffff99 },
  { seed: 16390493, index: 0, w0: 0xffffffb3 },
  { seed: 25333382, index: 3, w0: 0xffffffe5 },
] as const;

/** The largest float32 below 1, from its bits (0x3f7fffff = 1 - 2^-24). */
export const FLOAT32_BELOW_ONE_BITS = new Float32Array(new Uint32Array([0x3f7fffff]).buffer)[0];

// ---- running ops ------------------------------------------------------------------------------

export interface Run<R> {
  /** Every vector after the op, downloaded, in the order of the inputs. */
  vectors: Float32Array[];
  result: R;
}

/** Uploads `inputs` to `ops`, runs `op` on them, downloads every vector and frees them. */
export function run<R>(
  ops: FlatOps,
  inputs: readonly Float32Array[],
  op: (o: FlatOps, vs: FlatVector[]) => R,
): Run<R> {
  const vs = inputs.map((data) => ops.fromArray(data));
  try {
    const result = op(ops, vs);
    ops.synchronize();
    return { vectors: vs.map((v) => ops.download(v)), result };
  } finally {
    for (const v of vs) ops.free(v);
  }
}

/** The op on the backend under test and on the js oracle. */
export function runBoth<R>(
  ops: FlatOps,
  inputs: readonly Float32Array[],
  op: (o: FlatOps, vs: FlatVector[]) => R,
): { got: Run<R>; want: Run<R> } {
  return { got: run(ops, inputs, op), want: run(oracle, inputs, op) };
}

// ---- tolerances -------------------------------------------------------------------------------

const SMALLEST_SUBNORMAL = 2 ** -149;

/** The largest finite |input[i]| of each element i over `inputs` (0 where none is finite). */
export function inputScale(inputs: readonly Float32Array[], length: number): Float64Array {
  const scale = new Float64Array(length);
  for (const input of inputs) {
    for (let i = 0; i < length; i++) {
      const a = Math.abs(input[i]);
      if (a > scale[i] && a !== Infinity) scale[i] = a;
    }
  }
  return scale;
}

/**
 * Element i of `got` agrees with `want` when both are NaN, both the same infinity, or
 * |got - want| <= rtol * scale_i + 2^-149, where scale_i is the largest finite magnitude among
 * want_i, the inputs at i (`inputScale`) and, for a vector updated in place, want_i - before_i:
 * the size of the terms a float32 backend rounds, so an op that cancels large terms is judged
 * against them.
 */
export function assertClose(
  got: Float32Array,
  want: Float32Array,
  rtol: number,
  what: string,
  scale?: Float64Array,
  before?: Float32Array,
): void {
  assert.equal(got.length, want.length, `${what}: length`);
  const failures: string[] = [];
  for (let i = 0; i < want.length && failures.length < 5; i++) {
    const g = got[i];
    const w = want[i];
    if (!Number.isFinite(w)) {
      if (!Object.is(g, w) && !(Number.isNaN(g) && Number.isNaN(w)))
        failures.push(`[${i}] got ${g}, want ${w}`);
      continue;
    }
    let s = Math.max(Math.abs(w), scale ? scale[i] : 0);
    if (before && Number.isFinite(before[i])) s = Math.max(s, Math.abs(w - before[i]));
    if (!(Math.abs(g - w) <= rtol * s + SMALLEST_SUBNORMAL))
      failures.push(`[${i}] got ${g}, want ${w}`);
  }
  assert.deepEqual(failures, [], `${what}: element(s) outside rtol ${rtol}`);
}

/** Bit-for-bit equality (NaN payloads aside). */
export function assertSameBits(got: Float32Array, want: Float32Array, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i]) && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) {
      assert.fail(`${what}: [${i}] got ${got[i]}, want ${want[i]}`);
    }
  }
}

/** |got - want| <= rtol * scale (a reduction's value against float64). */
export function assertNear(
  got: number,
  want: number,
  rtol: number,
  scale: number,
  what: string,
): void {
  assert.ok(
    Math.abs(got - want) <= rtol * scale,
    `${what}: got ${got}, want ${want} (rtol ${rtol} of ${scale})`,
  );
}

export function assertKernelError(fn: () => unknown, code: string, what: string): void {
  assert.throws(fn, (e: unknown) => e instanceof KernelError && e.code === code, what);
}

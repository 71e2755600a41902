/**
 * Philox4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy as 1, 2, 3",
 * SC 2011), the counter-based generator every backend draws its random numbers from, and the
 * three distributions of RandomSpec (see types.ts). This is the reference; asm/assembly/random.ts
 * and the CUDA kernels compute the same words.
 */
import { KernelError } from './errors.js';
import type { Distribution, RandomSpec } from './types.js';

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const TWO_POW_32 = 0x1_0000_0000;
/**
 * The largest float32 below 1. (w0 + 0.5) 2^-32 rounds to 1 in float32 for the top 128 words
 * (w0 >= 2^32 - 128); uniform gives this value for them instead, so a stored uniform is strictly
 * in (0, 1) on every backend.
 */
export const FLOAT32_BELOW_ONE = 1 - 2 ** -24;

/** High 32 bits of the 64-bit product of two u32, from 16-bit halves (each partial < 2^32). */
function mulhi(a: number, b: number): number {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const hiLo = aHi * bLo;
  // Bits 16.. of the product: the middle partials plus the carry out of the low partial (< 2^34).
  const middle = ((aLo * bLo) >>> 16) + (hiLo & 0xffff) + aLo * bHi;
  return (aHi * bHi + (hiLo >>> 16) + Math.floor(middle / 0x10000)) >>> 0;
}

/** Philox4x32-10 of counter (c0..c3) under key (k0, k1); writes the four words into `out`. */
export function philox4x32(
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  k0: number,
  k1: number,
  out: Uint32Array,
): Uint32Array {
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const hi0 = mulhi(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
  return out;
}

/** The Philox key of a seed: [low 32 bits, high 21 bits]. */
export function seedKey(seed: number): [number, number] {
  return [seed >>> 0, Math.floor(seed / TWO_POW_32) >>> 0];
}

/** Throws unless seed is an integer in [0, 2^53) and stream one in [0, 2^32). */
export function checkRandomSpec(op: string, spec: { seed: number; stream: number }): void {
  if (!Number.isSafeInteger(spec.seed) || spec.seed < 0) {
    throw new KernelError(
      'ANNEAL_KERNEL_ARGUMENT',
      `${op}: seed ${spec.seed} is not an integer in [0, 2^53); pass a non-negative integer seed.`,
    );
  }
  if (!Number.isInteger(spec.stream) || spec.stream < 0 || spec.stream >= TWO_POW_32) {
    throw new KernelError(
      'ANNEAL_KERNEL_ARGUMENT',
      `${op}: stream ${spec.stream} is not an integer in [0, 2^32); pass a non-negative 32-bit stream id.`,
    );
  }
}

const DISTRIBUTIONS: readonly Distribution[] = ['gaussian', 'rademacher', 'uniform'];

export function checkDistribution(op: string, spec: RandomSpec): void {
  checkRandomSpec(op, spec);
  if (!DISTRIBUTIONS.includes(spec.distribution)) {
    throw new KernelError(
      'ANNEAL_KERNEL_ARGUMENT',
      `${op}: distribution ${JSON.stringify(spec.distribution)} is not one of ${DISTRIBUTIONS.join(', ')}.`,
    );
  }
}

/** The index the wasm and cuda kernels use for a distribution. */
export function distributionCode(distribution: Distribution): number {
  return DISTRIBUTIONS.indexOf(distribution);
}

/** Element i of the stream as a float64 (the backends store it as float32). */
export type Sampler = (i: number) => number;

export function sampler(
  spec: { seed: number; stream: number },
  distribution: Distribution,
): Sampler {
  const [k0, k1] = seedKey(spec.seed);
  const stream = spec.stream >>> 0;
  const words = new Uint32Array(4);
  const draw = (i: number) => philox4x32(i >>> 0, stream, 0, 0, k0, k1, words);
  switch (distribution) {
    case 'uniform':
      return (i) => Math.min((draw(i)[0] + 0.5) / TWO_POW_32, FLOAT32_BELOW_ONE);
    case 'rademacher':
      return (i) => (draw(i)[0] & 1 ? 1 : -1);
    case 'gaussian':
      return (i) => {
        const w = draw(i);
        const u1 = (w[0] + 0.5) / TWO_POW_32;
        const u2 = (w[1] + 0.5) / TWO_POW_32;
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
      };
  }
}

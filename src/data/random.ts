/**
 * Seeded pseudo-random numbers for everything in anneal that must be reproducible from a seed:
 * data order, validation splits, synthetic data sets.
 *
 * The generator is mulberry32 (Tommy Ettinger, public domain): one 32-bit word of state, period
 * 2^32, a few integer ops per draw. It is not cryptographic and its period is too short for
 * billions of draws, but it is plenty for shuffling data sets and making test data, and a single
 * uint32 of state is trivial to save in a checkpoint (`getState`/`setState`).
 *
 * Independent streams (one per epoch, one per split, ...) come from `deriveSeed`, which hashes a
 * seed with stream numbers through murmur3's 32-bit finaliser, so nearby seeds and nearby epochs
 * give unrelated sequences.
 */
import { UsageError } from '../errors.js';

const GOLDEN_GAMMA = 0x9e3779b9;

export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = toSeed(seed);
  }

  /** A uniform integer in [0, 2^32). */
  nextUint32(): number {
    // mulberry32, line for line from the C reference; Math.imul keeps products at 32 bits.
    let z = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return (z ^ (z >>> 14)) >>> 0;
  }

  /** A uniform float in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** A uniform integer in [0, n), for n <= 2^32 (bias below 2^-32 * n, negligible for data sizes). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A standard normal draw (Box-Muller; the second value is dropped so the state stays one word). */
  normal(): number {
    const u = 1 - this.next(); // in (0, 1], so log(u) is finite
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  getState(): number {
    return this.state;
  }

  setState(state: number): void {
    this.state = toSeed(state);
  }
}

/** murmur3's fmix32: a bijection on uint32 that spreads every input bit over the output. */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A seed for an independent stream, e.g. `deriveSeed(seed, epoch)`; same inputs, same output. */
export function deriveSeed(seed: number, ...streams: number[]): number {
  let h = fmix32((toSeed(seed) + GOLDEN_GAMMA) >>> 0);
  // Absorb each stream like a hash (multiply, then add): an XOR of h with a mix of the stream
  // would cancel to 0 whenever the stream equals the seed.
  for (const stream of streams) h = fmix32((Math.imul(h, GOLDEN_GAMMA) + toSeed(stream) + 1) >>> 0);
  return h;
}

/** 0..n-1 in a random order (Fisher-Yates from the back, so every permutation is equally likely). */
export function permutation(n: number, rng: Rng): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const tmp = order[i];
    order[i] = order[j];
    order[j] = tmp;
  }
  return order;
}

function toSeed(seed: number): number {
  if (!Number.isSafeInteger(seed)) {
    throw new UsageError(
      'ANNEAL_BAD_SEED',
      `seed = ${seed} is not valid: expected an integer (it is used modulo 2^32)`,
    );
  }
  return seed >>> 0;
}

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deriveSeed, permutation, Rng } from '../../src/data/random.js';
import { assertAnnealError } from './helpers.js';

/** mulberry32 evaluated from its C definition with exact BigInt arithmetic modulo 2^32. */
function mulberry32Reference(seed: number, count: number): number[] {
  const M = 1n << 32n;
  let state = BigInt(seed >>> 0);
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    state = (state + 0x6d2b79f5n) % M;
    let z = state;
    z = ((z ^ (z >> 15n)) * (z | 1n)) % M;
    z = z ^ ((z + (z ^ (z >> 7n)) * (z | 61n)) % M);
    out.push(Number(z ^ (z >> 14n)));
  }
  return out;
}

describe('Rng (mulberry32)', () => {
  test('matches the C definition for several seeds', () => {
    for (const seed of [0, 1, 42, 0xdeadbeef, -1, 2 ** 40 + 3]) {
      const rng = new Rng(seed);
      const ours = Array.from({ length: 50 }, () => rng.nextUint32());
      assert.deepEqual(ours, mulberry32Reference(seed, 50), `seed ${seed}`);
    }
  });

  test('uniform, integer and normal draws have the right moments', () => {
    const rng = new Rng(7);
    const n = 20000;
    let sum = 0;
    let sumNormal = 0;
    let sumNormalSq = 0;
    for (let i = 0; i < n; i++) {
      const u = rng.next();
      assert.ok(u >= 0 && u < 1);
      sum += u;
      const k = rng.int(5);
      assert.ok(Number.isInteger(k) && k >= 0 && k < 5);
      const z = rng.normal();
      sumNormal += z;
      sumNormalSq += z * z;
    }
    // Standard errors: uniform mean 0.002, normal mean 0.007, normal variance 0.01.
    assert.ok(Math.abs(sum / n - 0.5) < 0.01);
    assert.ok(Math.abs(sumNormal / n) < 0.03);
    assert.ok(Math.abs(sumNormalSq / n - 1) < 0.05);
  });

  test('state can be saved and restored', () => {
    const rng = new Rng(3);
    rng.next();
    const saved = rng.getState();
    const expected = [rng.next(), rng.next()];
    const other = new Rng(0);
    other.setState(saved);
    assert.deepEqual([other.next(), other.next()], expected);
  });

  test('a seed that is not an integer is rejected', () => {
    assertAnnealError(() => new Rng(0.5), 'ANNEAL_BAD_SEED', ['0.5']);
    assertAnnealError(() => new Rng(NaN), 'ANNEAL_BAD_SEED', ['NaN']);
  });
});

describe('permutation and deriveSeed', () => {
  test('permutation holds each index once and all 6 orders of 3 are equally likely', () => {
    const rng = new Rng(11);
    const p = permutation(1000, rng);
    assert.deepEqual(
      Array.from(p).sort((a, b) => a - b),
      Array.from({ length: 1000 }, (_, i) => i),
    );
    const counts = new Map<string, number>();
    const draws = 6000;
    for (let i = 0; i < draws; i++) {
      const key = permutation(3, rng).join('');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    assert.equal(counts.size, 6);
    // Each count is binomial(6000, 1/6): mean 1000, standard deviation 29.
    for (const [key, count] of counts) assert.ok(Math.abs(count - 1000) < 150, `${key}: ${count}`);
  });

  test('derived seeds are deterministic and differ between streams', () => {
    assert.equal(deriveSeed(5, 1, 2), deriveSeed(5, 1, 2));
    const seeds = new Set<number>();
    for (let seed = 0; seed < 20; seed++)
      for (let epoch = 0; epoch < 50; epoch++) seeds.add(deriveSeed(seed, 1, epoch));
    assert.equal(seeds.size, 1000);
    assert.notEqual(deriveSeed(5, 1), deriveSeed(5, 1, 0));
    // A stream equal to the seed must not cancel it (an XOR-combine gives 0 for every s).
    const diagonal = new Set(Array.from({ length: 100 }, (_, s) => deriveSeed(s, s)));
    assert.equal(diagonal.size, 100);
    assert.ok(!diagonal.has(0));
  });
});

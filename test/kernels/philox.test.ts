import assert from 'node:assert/strict';
import { test } from 'node:test';
import { philox4x32, seedKey } from '../../src/kernels/philox.js';
import { prng } from './helpers.js';

const hex = (words: Uint32Array) =>
  Array.from(words, (w) => w.toString(16).padStart(8, '0')).join(' ');

test('Philox4x32-10 matches the Random123 known-answer vectors (kat_vectors)', () => {
  const out = new Uint32Array(4);
  const ones = 0xffffffff;
  assert.equal(hex(philox4x32(0, 0, 0, 0, 0, 0, out)), '6627e8d5 e169c58d bc57ac4c 9b00dbd8');
  assert.equal(
    hex(philox4x32(ones, ones, ones, ones, ones, ones, out)),
    '408f276d 41c83b0e a20bc7c6 6d5451fd',
  );
  assert.equal(
    hex(philox4x32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, out)),
    'd16cfe09 94fdcceb 5001e420 24126ea1',
  );
});

test('Philox4x32-10 matches a BigInt transcription of the round function on random inputs', () => {
  // Salmon et al. 2011: (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0) with (hi0, lo0) = M0 c0 and
  // (hi1, lo1) = M1 c2; the key is bumped by the Weyl constants between rounds.
  const mask = 0xffffffffn;
  const reference = (c: bigint[], k: bigint[]) => {
    for (let round = 0; round < 10; round++) {
      if (round > 0) k = [(k[0] + 0x9e3779b9n) & mask, (k[1] + 0xbb67ae85n) & mask];
      const p0 = 0xd2511f53n * c[0];
      const p1 = 0xcd9e8d57n * c[2];
      c = [
        ((p1 >> 32n) ^ c[1] ^ k[0]) & mask,
        p1 & mask,
        ((p0 >> 32n) ^ c[3] ^ k[1]) & mask,
        p0 & mask,
      ];
    }
    return c.map(Number);
  };
  const rand = prng(99);
  const word = () => Math.floor(rand() * 2 ** 32);
  const out = new Uint32Array(4);
  for (let t = 0; t < 2000; t++) {
    const [c0, c1, c2, c3, k0, k1] = [word(), word(), word(), word(), word(), word()];
    const expected = reference([c0, c1, c2, c3].map(BigInt), [k0, k1].map(BigInt));
    assert.deepEqual([...philox4x32(c0, c1, c2, c3, k0, k1, out)], expected);
  }
});

test('seedKey splits a 53-bit seed into its low and high 32-bit words', () => {
  assert.deepEqual(seedKey(0), [0, 0]);
  assert.deepEqual(seedKey(2 ** 32 + 5), [5, 1]);
  assert.deepEqual(seedKey(2 ** 53 - 1), [0xffffffff, 0x1fffff]);
});

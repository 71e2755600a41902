// Magnitude selection for pruning in O(N): a radix select over the bits of |x| (sign bit
// cleared, so the 31-bit integers are ordered like the magnitudes and NaN above +Inf), three
// histogram passes (bits 30..20, 19..9, 8..0) that narrow down the key of the count-th smallest
// magnitude, then one pass writing the mask.
//
// segments: nsegs pairs of u32 (offset, length) in elements, sorted by offset and disjoint.

const RADIX_BITS = 11;
const BINS = 1 << RADIX_BITS;
const HISTOGRAM = memory.data(BINS * 4, 16);
const ABS_BITS: u32 = 0x7fffffff;

// The rank left inside the bin findBin returned.
let rankInBin: u32 = 0;

/**
 * Counts, over every key k of the segments with k >>> prefixShift == prefix, the bin
 * (k >>> shift) & binMask.
 */
function histogram(
  x: usize,
  segments: usize,
  nsegs: i32,
  prefixShift: u32,
  prefix: u32,
  shift: u32,
  binMask: u32,
): void {
  memory.fill(HISTOGRAM, 0, BINS * 4);
  for (let s = 0; s < nsegs; s++) {
    const offset = load<u32>(segments + ((<usize>s) << 3));
    const length = load<u32>(segments + ((<usize>s) << 3), 4);
    const start = x + ((<usize>offset) << 2);
    const end = start + ((<usize>length) << 2);
    for (let p = start; p < end; p += 4) {
      const key = load<u32>(p) & ABS_BITS;
      if (key >>> prefixShift == prefix) {
        const bin = HISTOGRAM + ((<usize>((key >>> shift) & binMask)) << 2);
        store<u32>(bin, load<u32>(bin) + 1);
      }
    }
  }
}

/** The bin holding the rank-th smallest counted key (1-based); sets rankInBin. */
function findBin(rank: u32): u32 {
  let bin: u32 = 0;
  for (; bin < <u32>BINS - 1; bin++) {
    const inBin = load<u32>(HISTOGRAM + ((<usize>bin) << 2));
    if (rank <= inBin) break;
    rank -= inBin;
  }
  rankInBin = rank;
  return bin;
}

/**
 * mask[i] = 0 for the count entries of smallest |x[i]| over the segments (ties at the threshold:
 * lowest indices first), 1 for the rest of the segments. Returns the threshold's bits: the key
 * of the largest zeroed |x| (0 when count is 0).
 */
export function magnitudeMask(x: usize, mask: usize, segments: usize, nsegs: i32, count: u32): u32 {
  let threshold: u32 = 0;
  let tiesToZero: u32 = 0;
  if (count > 0) {
    histogram(x, segments, nsegs, 31, 0, 20, BINS - 1);
    const high = findBin(count);
    histogram(x, segments, nsegs, 20, high, 9, BINS - 1);
    const middle = findBin(rankInBin);
    histogram(x, segments, nsegs, 9, (high << 11) | middle, 0, 0x1ff);
    const low = findBin(rankInBin);
    threshold = (high << 20) | (middle << 9) | low;
    tiesToZero = rankInBin;
  }
  for (let s = 0; s < nsegs; s++) {
    const offset = (<usize>load<u32>(segments + ((<usize>s) << 3))) << 2;
    const end = offset + ((<usize>load<u32>(segments + ((<usize>s) << 3), 4)) << 2);
    for (let o = offset; o < end; o += 4) {
      const key = load<u32>(x + o) & ABS_BITS;
      let keep: f32 = 1;
      if (key < threshold) keep = 0;
      else if (key == threshold && tiesToZero > 0) {
        keep = 0;
        tiesToZero--;
      }
      store<f32>(mask + o, keep);
    }
  }
  return threshold;
}

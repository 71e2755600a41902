// Helpers shared by the kernels. The element-wise and optimizer kernels walk their vectors 8
// elements (two 16-byte chunks) per iteration, then at most one more 4-lane chunk, and finish the
// last n % 4 elements one at a time with the same code: `tail` loads one element into lane 0
// (the other lanes zero) and stores lane 0 only. Kernels call their per-chunk body through
// inline.always with a constant `tail`, so each loop is specialised at compile time; loop bounds
// are computed once, before the loops (neither binaryen nor V8 hoists them). Reductions read
// four quarters at once instead (reduce.ts).
// (asconfig.json silences warning AS112, "exchange of v128 values": these helpers pass v128
// between files of the module, never across the JS boundary.)

/** 4 lanes at p, or (tail) the element at p in lane 0 and zeros elsewhere. */
export function ld(p: usize, tail: bool): v128 {
  return tail ? v128.load32_zero(p) : v128.load(p);
}

/** Stores 4 lanes at p, or (tail) lane 0 only. */
export function st(p: usize, x: v128, tail: bool): void {
  if (tail) v128.store32_lane(p, x, 0);
  else v128.store(p, x);
}

/** Bytes of the part of n elements that is a whole number of 8-element pairs of chunks. */
export function pairBytes(n: i32): usize {
  return ((<usize>n) & ~7) << 2;
}

/** Bytes of the part of n elements that is a whole number of 4-lane chunks. */
export function chunkBytes(n: i32): usize {
  return ((<usize>n) & ~3) << 2;
}

export function byteLength(n: i32): usize {
  return (<usize>n) << 2;
}

const ONES = memory.data<f32>([1, 1, 1, 1], 16);

// Optional per-element masks: where one of two masks is absent (address 0) the kernel reads a
// block of ones at every offset (base ONES, offset selector 0), so one loop serves every
// combination. Read a mask as ld(maskBase(ptr) + (offset & maskSelector(ptr)), tail). (With no
// mask at all the optimizer kernels take a loop without mask loads.)
export function maskBase(ptr: usize): usize {
  return ptr != 0 ? ptr : ONES;
}

export function maskSelector(ptr: usize): usize {
  return ptr != 0 ? <usize>-1 : 0;
}

/** Sum of the 4 lanes in float64. */
export function sumLanes(x: v128): f64 {
  const low = f64x2.promote_low_f32x4(x);
  const high = f64x2.promote_low_f32x4(v128.shuffle<f32>(x, x, 2, 3, 0, 1));
  const pair = f64x2.add(low, high);
  return f64x2.extract_lane(pair, 0) + f64x2.extract_lane(pair, 1);
}

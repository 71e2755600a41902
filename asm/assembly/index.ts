// anneal's WASM kernels: the entry point asc compiles to asm/build/anneal.wasm. Memory belongs
// to the host (src/kernels/wasm.ts): it allocates every vector above heapBase() and passes byte
// addresses; the kernels never allocate.
export { scale, axpy, axpby, mul, lerp, lookaheadSync, weightedSum } from './elementwise';
export { adam, sgd, langevin } from './optim';
export { dot, maxAbs, countNonFinite, countNonzero } from './reduce';
export { random, perturb } from './random';
export { magnitudeMask } from './select';

/** First byte the host may allocate (after the kernels' static data). */
export function heapBase(): usize {
  return __heap_base;
}

/**
 * What every backend shares: checking vectors and arguments before a kernel runs (so a bad call
 * throws one KernelError instead of crashing or corrupting memory), and ops that are compositions
 * of other ops.
 */
import { KernelError } from './errors.js';
import {
  GATE_LENGTH,
  type FlatOps,
  type FlatVector,
  type KernelBackendName,
  type Segment,
  type StepGateRef,
} from './types.js';

function describe(v: unknown): string {
  if (v instanceof Float32Array) return 'a host Float32Array (upload it with fromArray() first)';
  if (v !== null && typeof v === 'object' && 'backend' in v) return `a ${String(v.backend)} vector`;
  return v === null ? 'null' : `a ${typeof v}`;
}

/** Checks that vectors belong to one backend instance, are alive and agree in length. */
export class VectorGuard<V extends FlatVector> {
  constructor(
    private readonly backend: KernelBackendName,
    private readonly isMine: (v: unknown) => v is V,
  ) {}

  own(op: string, arg: string, v: FlatVector): V {
    if (!this.isMine(v)) {
      throw new KernelError(
        'ANNEAL_KERNEL_BACKEND',
        `${op}: ${arg} is ${describe(v)}, not a vector of this ${this.backend} backend instance; ` +
          `vectors cannot be shared between backends: download() it there and fromArray() it here.`,
      );
    }
    if (!v.alive) {
      throw new KernelError(
        'ANNEAL_KERNEL_FREED',
        `${op}: ${arg} (a ${this.backend} vector of length ${v.length}) was freed or its backend ` +
          `was disposed; allocate a new vector with alloc() or fromArray().`,
      );
    }
    return v;
  }

  /** The named vectors, in order, each owned and alive and all of the first one's length. */
  all(op: string, named: Record<string, FlatVector>): V[] {
    const entries = Object.entries(named);
    const [firstName, first] = entries[0];
    return entries.map(([name, v]) => {
      const own = this.own(op, name, v);
      if (own.length !== first.length)
        throw lengthError(op, name, own.length, firstName, first.length);
      return own;
    });
  }

  /** An optional vector (mask, vMax, momentum buffer): null when absent, else checked. */
  optional(op: string, arg: string, v: FlatVector | null | undefined, length: number): V | null {
    if (v === null || v === undefined) return null;
    const own = this.own(op, arg, v);
    if (own.length !== length) throw lengthError(op, arg, own.length, 'the other vectors', length);
    return own;
  }

  /** The vector to free: freeing a foreign vector or freeing twice throws. */
  release(v: FlatVector): V {
    if (this.isMine(v) && !v.alive) {
      throw new KernelError(
        'ANNEAL_KERNEL_FREED',
        `free: this ${this.backend} vector of length ${v.length} was already freed (or its backend ` +
          `disposed); free each vector exactly once.`,
      );
    }
    return this.own('free', 'the vector', v);
  }
}

function lengthError(op: string, arg: string, length: number, other: string, otherLength: number) {
  return new KernelError(
    'ANNEAL_KERNEL_LENGTH',
    `${op}: ${arg} has length ${length} but ${other} has length ${otherLength}; ` +
      `every vector of one call must have the same length.`,
  );
}

function argumentError(message: string): KernelError {
  return new KernelError('ANNEAL_KERNEL_ARGUMENT', message);
}

function isNonNegativeInteger(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

export function checkNotDisposed(backend: KernelBackendName, disposed: boolean): void {
  if (disposed) {
    throw new KernelError(
      'ANNEAL_KERNEL_FREED',
      `alloc: this ${backend} backend was disposed; create a new one with createFlatOps().`,
    );
  }
}

export function checkAllocLength(length: number): void {
  if (!isNonNegativeInteger(length)) {
    throw argumentError(`alloc: length ${length} is not a non-negative integer.`);
  }
}

export function checkHostArray(op: string, data: unknown): asserts data is Float32Array {
  if (!(data instanceof Float32Array)) {
    throw argumentError(`${op}: expected a Float32Array, got ${describe(data)}.`);
  }
}

/** upload(v, data, offset): data must fit in v from offset on. */
export function checkUploadRange(length: number, dataLength: number, offset: number): void {
  if (!isNonNegativeInteger(offset) || offset + dataLength > length) {
    throw new KernelError(
      'ANNEAL_KERNEL_LENGTH',
      `upload: ${dataLength} elements at offset ${offset} do not fit in a vector of length ` +
        `${length}; pass an offset in [0, ${Math.max(0, length - dataLength)}].`,
    );
  }
}

export function checkDownloadTarget(length: number, out: Float32Array | undefined): void {
  if (out === undefined) return;
  checkHostArray('download', out);
  if (out.length !== length) {
    throw lengthError('download', '`out`', out.length, 'the vector', length);
  }
}

/** Bias correction and momentum initialisation count steps from 1. */
export function checkStep(op: string, step: number): void {
  if (!Number.isSafeInteger(step) || step < 1) {
    throw argumentError(`${op}: step ${step} is not an integer >= 1; steps are counted from 1.`);
  }
}

export function checkSgd(
  momentum: number,
  dampening: number,
  nesterov: boolean,
  hasBuffer: boolean,
): void {
  if (momentum !== 0 && !hasBuffer) {
    throw argumentError(
      `sgd: momentum ${momentum} needs a momentum buffer; pass one of the param's length.`,
    );
  }
  if (nesterov && (momentum <= 0 || dampening !== 0)) {
    throw argumentError(
      `sgd: Nesterov momentum needs momentum > 0 and dampening 0, got momentum ${momentum} and ` +
        `dampening ${dampening}.`,
    );
  }
}

export function checkCount(op: string, name: string, count: number, max: number): void {
  if (!isNonNegativeInteger(count) || count > max) {
    throw argumentError(`${op}: ${name} ${count} is not an integer in [0, ${max}].`);
  }
}

export function checkWeightedSum(
  out: FlatVector,
  xs: readonly FlatVector[],
  weights: readonly number[],
): void {
  if (xs.length !== weights.length) {
    throw new KernelError(
      'ANNEAL_KERNEL_LENGTH',
      `weightedSum: ${xs.length} vectors but ${weights.length} weights; pass one weight per vector.`,
    );
  }
  if (xs.includes(out)) {
    throw argumentError(
      'weightedSum: `out` is also one of `xs`; write the sum into a separate vector.',
    );
  }
}

/**
 * The non-empty segments sorted by offset, after checking each lies inside [0, length) and none
 * overlap (selection and normalisation are defined over a union of disjoint ranges).
 */
export function sortedSegments(
  op: string,
  segments: readonly Segment[],
  length: number,
): Segment[] {
  const checked = segments.map((s, k) => {
    if (
      !isNonNegativeInteger(s.offset) ||
      !isNonNegativeInteger(s.length) ||
      s.offset + s.length > length
    ) {
      throw argumentError(
        `${op}: segment ${k} {offset: ${s.offset}, length: ${s.length}} does not lie inside the ` +
          `vector of length ${length}.`,
      );
    }
    return { offset: s.offset, length: s.length };
  });
  // Empty segments select nothing and cannot overlap anything.
  const nonEmpty = checked.filter((s) => s.length > 0).sort((a, b) => a.offset - b.offset);
  for (let k = 1; k < nonEmpty.length; k++) {
    const prev = nonEmpty[k - 1];
    if (nonEmpty[k].offset < prev.offset + prev.length) {
      throw argumentError(
        `${op}: segments at offsets ${prev.offset} (length ${prev.length}) and ${nonEmpty[k].offset} ` +
          `overlap; pass disjoint segments.`,
      );
    }
  }
  return nonEmpty;
}

export function segmentsTotal(segments: readonly Segment[]): number {
  return segments.reduce((sum, s) => sum + s.length, 0);
}

/** The float32 whose bit pattern is `bits` (a magnitude key back to a threshold value). */
export function float32FromBits(bits: number): number {
  return new Float32Array(new Uint32Array([bits]).buffer)[0];
}

/** Global-norm clipping, the same composition of sumSquares and scale on every backend. */
export function clipByGlobalNormWith(ops: FlatOps, g: FlatVector, maxNorm: number): number {
  const norm = Math.sqrt(ops.sumSquares(g));
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) ops.scale(g, coef);
  return norm;
}

/** clipByGlobalNormInto where the host reads the vectors directly (js, wasm). */
export function clipByGlobalNormIntoWith(
  ops: FlatOps,
  g: FlatVector,
  maxNorm: number,
  norm: FlatVector,
): void {
  checkNormSlot(norm);
  ops.upload(norm, Float32Array.of(ops.clipByGlobalNorm(g, maxNorm)));
}

export function checkNormSlot(norm: FlatVector): void {
  if (norm.length !== 1) {
    throw new KernelError(
      'ANNEAL_KERNEL_LENGTH',
      `clipByGlobalNormInto: norm has ${norm.length} elements, expected 1 (alloc(1)).`,
    );
  }
}

/** fromArray, the same on every backend: allocate, then upload (one copy to the backend). */
export function allocFrom(ops: Pick<FlatOps, 'alloc' | 'upload'>, data: Float32Array): FlatVector {
  checkHostArray('fromArray', data);
  const v = ops.alloc(data.length);
  ops.upload(v, data);
  return v;
}

// ---- the step gate ---------------------------------------------------------------------------

/** A gate must be GATE_LENGTH floats and a step an integer >= 0 (it is stored as step + 1). */
export function checkGate(op: string, gate: FlatVector, step?: number): void {
  if (gate.length !== GATE_LENGTH) {
    throw new KernelError(
      'ANNEAL_KERNEL_LENGTH',
      `${op}: the gate has ${gate.length} elements, expected ${GATE_LENGTH}; allocate a step ` +
        `gate with alloc(GATE_LENGTH).`,
    );
  }
  if (step !== undefined && (!isNonNegativeInteger(step) || step >= 2 ** 24)) {
    throw argumentError(`${op}: step ${step} is not an integer in [0, 2^24).`);
  }
}

/**
 * The gate check where the host reads the vectors directly (js, wasm): the same verdict the
 * native builds record (native/cuda/ops.cuh, gate_record).
 */
export function hostGateNonFinite(
  ops: FlatOps,
  gate: FlatVector,
  x: FlatVector,
  step: number,
): void {
  checkGate('gateNonFinite', gate, step);
  const g = ops.download(gate);
  const hit = ops.countNonFinite(x) > 0 || !Number.isFinite(g[4]);
  g[0] = hit ? 1 : 0;
  if (hit) {
    g[1] += 1;
    if (g[2] === 0) g[2] = step + 1;
    g[3] = step + 1;
  }
  ops.upload(gate, g);
}

/**
 * A fused step behind a gate, where the host reads the vectors directly (js, wasm): null when
 * the step must do nothing, else the step to run as (native/cuda/ops.cuh, pass_gate).
 */
export function hostGatedStep(
  ops: FlatOps,
  op: string,
  gate: StepGateRef | null | undefined,
  step: number,
): number | null {
  if (!gate) return step;
  checkGate(op, gate.vector);
  const g = ops.download(gate.vector);
  if (g[0] !== 0) {
    ops.upload(gate.vector, Float32Array.of(g[5] + 1), 5); // the skip, counted
    return null;
  }
  return Math.max(1, step - (g[5] - gate.settled));
}

/**
 * What every flat-vector optimizer shares: named state buffers on the kernel backend, the step
 * counter, checks that a ParamVector fits, and state dicts that refuse another optimizer's state.
 */
import { AnnealError } from '../errors.js';
import type { ParamVector } from '../engine/param-vector.js';
import type { StepGate } from '../engine/step-gate.js';
import type { FlatOps, FlatVector, StepGateRef } from '../kernels/index.js';
import type { Optimizer, OptimizerHyper, OptimizerStateDict, SgdParams } from './types.js';
import { badHyper } from './validate.js';

/** Refuses a state dict of another optimizer or of another parameter count, naming both. */
export function checkStateDictFits(state: OptimizerStateDict, name: string, length: number): void {
  if (state?.name !== name || state.length !== length) {
    throw new AnnealError(
      'ANNEAL_OPTIMIZER_STATE_MISMATCH',
      `loadStateDict: the state is of optimizer '${state?.name}' over ${state?.length} ` +
        `parameters, but this optimizer is '${name}' over ${length} parameters; load it into a ` +
        `'${state?.name}' optimizer built on the same model.`,
    );
  }
  if (!Number.isSafeInteger(state.step) || state.step < 0) {
    throw new AnnealError(
      'ANNEAL_OPTIMIZER_STATE_MISMATCH',
      `loadStateDict: step ${state.step} of the '${name}' state is not an integer >= 0.`,
    );
  }
}

/** Assigns a state dict's hyper values; a field `hyper` lacks, or of another type, is refused. */
function assignHyper(
  name: string,
  hyper: OptimizerHyper,
  values: Record<string, number | boolean>,
): void {
  const fields = Object.keys(hyper);
  for (const [key, value] of Object.entries(values)) {
    if (!fields.includes(key)) {
      throw new AnnealError(
        'ANNEAL_OPTIMIZER_STATE_MISMATCH',
        `loadStateDict: the '${name}' state has the hyper-parameter '${key}', which '${name}' ` +
          `does not have (it has ${fields.join(', ')}).`,
      );
    }
    const expected = typeof (hyper as unknown as Record<string, unknown>)[key];
    if (typeof value !== expected) {
      throw badHyper(name, `${key} is ${String(value)} in the state dict, expected a ${expected}.`);
    }
  }
  Object.assign(hyper, values);
}

export abstract class FlatOptimizer<H extends OptimizerHyper> implements Optimizer {
  /**
   * Steps counted on the host, those the gate's kernels skipped included until the next
   * settleGate (the kernels themselves run every step as its true count).
   */
  protected steps = 0;
  abstract readonly momentumKey: 'momentum' | 'beta1';
  /** Live state buffers by name. */
  protected readonly buffers = new Map<string, FlatVector>();
  /** Whether update() hands the gate to its kernels (the plain Adam and SGD steps). */
  protected readonly takesGate: boolean = false;
  private gate: StepGate | null = null;
  /** The gate's skip count already taken off `steps`. */
  private settledSkips = 0;
  private disposed = false;

  constructor(
    readonly name: string,
    readonly ops: FlatOps,
    readonly length: number,
    readonly hyper: H,
  ) {}

  /** Throws UsageError for a hyper-parameter out of range. */
  protected abstract validate(): void;
  /** Steps taken (with a gate attached, reading this reads the gate: settleGate). */
  get stepCount(): number {
    this.settleGate();
    return this.steps;
  }

  /** The fused kernel call; `steps` is the number of steps before this one. */
  protected abstract update(pv: ParamVector): void;
  /** Buffer names a state dict may hold, and those it must hold. */
  protected abstract bufferNames(): { allowed: readonly string[]; required: readonly string[] };

  step(pv: ParamVector): void {
    this.checkFits(pv);
    this.validate();
    this.update(pv);
    this.steps++;
  }

  /**
   * Lets the fused steps skip themselves when `gate` says so (see StepGate), or detaches with
   * null. False when this optimizer's steps cannot be gated (its update is more than one fused
   * Adam or SGD call); the caller then skips steps on the host.
   */
  attachGate(gate: StepGate | null): boolean {
    if (!this.takesGate) return false;
    this.settleGate();
    this.gate = gate;
    this.settledSkips = gate ? gate.read().skipped : 0;
    return true;
  }

  /** Takes the steps the gate skipped since the last settling off the count (one gate read). */
  settleGate(): void {
    if (!this.gate) return;
    const skipped = this.gate.read().skipped;
    this.steps -= skipped - this.settledSkips;
    this.settledSkips = skipped;
  }

  /** The gate as this step's kernels read it, or null. */
  protected gateRef(): StepGateRef | null {
    return this.gate ? { vector: this.gate.vector, settled: this.settledSkips } : null;
  }

  /** A state buffer's name: `${optimizer}/${slot}` (tfjs's per-variable slot names). */
  protected key(slot: string): string {
    return `${this.name}/${slot}`;
  }

  /**
   * The kernels' SGD step on `x` with the momentum buffer `slot`: like PyTorch's, the buffer
   * exists from the first step with momentum, and that step sets it to d. `step` is x's own
   * 1-based step count (x may step less often than the optimizer: an outer or a replica's step);
   * step 1 starts the buffer even when it exists (it does when every earlier step was skipped).
   */
  protected sgdStep(
    x: FlatVector,
    pv: ParamVector,
    slot: string,
    h: Pick<SgdParams, 'lr' | 'momentum' | 'dampening' | 'nesterov' | 'weightDecay'>,
    opts: { decoupled: boolean; step: number; gated?: boolean },
  ): void {
    const fresh = h.momentum !== 0 && (opts.step <= 1 || !this.buffers.has(this.key(slot)));
    const buf = h.momentum !== 0 ? this.buffer(this.key(slot)) : null;
    this.ops.sgd(
      x,
      pv.grads,
      buf,
      {
        lr: h.lr,
        momentum: h.momentum,
        dampening: h.dampening,
        nesterov: h.nesterov && h.momentum !== 0,
        weightDecay: h.weightDecay,
        decoupled: opts.decoupled,
        step: fresh ? 1 : opts.step,
      },
      { lrMask: pv.mask, decayMask: pv.decay, gate: opts.gated ? this.gateRef() : null },
    );
  }

  protected buffer(name: string): FlatVector {
    let v = this.buffers.get(name);
    if (!v) {
      v = this.ops.alloc(this.length);
      this.buffers.set(name, v);
    }
    return v;
  }

  stateDict(): OptimizerStateDict {
    this.checkAlive('stateDict');
    this.settleGate();
    const buffers: Record<string, Float32Array> = {};
    for (const [name, v] of this.buffers) buffers[name] = this.ops.download(v);
    return {
      name: this.name,
      length: this.length,
      step: this.steps,
      hyper: { ...this.hyper } as unknown as Record<string, number | boolean>,
      buffers,
    };
  }

  loadStateDict(state: OptimizerStateDict): void {
    this.checkAlive('loadStateDict');
    checkStateDictFits(state, this.name, this.length);
    const { allowed, required } = this.bufferNames();
    for (const [key, data] of Object.entries(state.buffers)) {
      if (
        !allowed.includes(key) ||
        !(data instanceof Float32Array) ||
        data.length !== this.length
      ) {
        throw new AnnealError(
          'ANNEAL_OPTIMIZER_STATE_MISMATCH',
          `loadStateDict: the '${this.name}' state has a buffer '${key}' of ${describe(data)}; ` +
            `expected only ${allowed.join(', ') || 'no buffers'}, each a Float32Array of ` +
            `${this.length} elements.`,
        );
      }
    }
    const missing = required.filter((key) => !(key in state.buffers));
    if (missing.length > 0) {
      throw new AnnealError(
        'ANNEAL_OPTIMIZER_STATE_MISMATCH',
        `loadStateDict: the '${this.name}' state lacks the buffer(s) ${missing.join(', ')}.`,
      );
    }
    const previous = { ...this.hyper };
    assignHyper(this.name, this.hyper, state.hyper);
    try {
      this.validate();
    } catch (e) {
      Object.assign(this.hyper, previous);
      throw e;
    }
    for (const [key, v] of [...this.buffers]) {
      if (!(key in state.buffers)) {
        this.ops.free(v);
        this.buffers.delete(key);
      }
    }
    for (const [key, data] of Object.entries(state.buffers))
      this.ops.upload(this.buffer(key), data);
    this.steps = state.step;
    // The loaded count is true: the gate's skips so far are not this state's.
    this.settledSkips = this.gate ? this.gate.read().skipped : 0;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of this.buffers.values()) if (v.alive) this.ops.free(v);
    this.buffers.clear();
  }

  private checkAlive(op: string): void {
    if (this.disposed) {
      throw new AnnealError(
        'ANNEAL_OPTIMIZER_DISPOSED',
        `${this.name}.${op}: this optimizer was disposed; create a new one with createOptimizer().`,
      );
    }
  }

  protected checkFits(pv: ParamVector): void {
    this.checkAlive('step');
    checkParamVectorFits(this.name, this.ops, this.length, pv);
  }
}

/** The ParamVector must be on the optimizer's kernel backend and have its parameter count. */
export function checkParamVectorFits(
  name: string,
  ops: FlatOps,
  length: number,
  pv: ParamVector,
): void {
  if (pv.ops !== ops || pv.length !== length) {
    throw new AnnealError(
      'ANNEAL_OPTIMIZER_PARAMS',
      `${name}.step: the ParamVector has ${pv.length} parameters on the ${pv.ops.name} kernels ` +
        `(instance ${pv.ops === ops ? 'shared' : 'different'}), but this optimizer was built for ` +
        `${length} parameters on its own ${ops.name} kernels instance; create the optimizer ` +
        `with this ParamVector and its ops.`,
    );
  }
}

function describe(data: unknown): string {
  return data instanceof Float32Array ? `${data.length} elements` : `type ${typeof data}`;
}

/**
 * NaN/Inf guard: after the backward pass, check the gradient and the loss for NaN or ±Inf; on a
 * hit, skip the optimizer step or stop the run, and report which weights went non-finite.
 *
 * With Adam or SGD the check goes into a step gate (StepGate: PyTorch's found_inf) that the fused
 * step reads where the vectors are, so the step skips itself and the host reads the verdict only
 * every `readEvery` steps; on a GPU no step waits for it. Other optimizers are checked on the
 * host each step. See README.md.
 */
import { UsageError } from '../../errors.js';
import type { ParamVector } from '../../engine/param-vector.js';
import { StepGate, type GateReading } from '../../engine/step-gate.js';
import type { Optimizer } from '../../optim/index.js';
import type { FlatVector } from '../../kernels/index.js';
import { Event } from '../../train/events.js';
import type { Logger, Method, MethodState } from '../../train/method.js';
import type { TrainState } from '../../train/state.js';

/** How the guard's stop reasons begin; `isDivergence` tells them from other stops. */
const NAN_GUARD_STOP = 'NaN guard';

export type NanPolicy = 'skip' | 'stop';

export interface NanGuardOptions {
  /** 'skip' the step and go on (default), or 'stop' the run (the step is skipped too). */
  policy?: NanPolicy;
  /**
   * Steps between reads of the step gate (a whole number >= 1): it is read after the check of
   * every step whose number + 1 is a multiple of it, at each epoch's end and when the run is
   * over. Default: 1 where the kernels are on the host (a read costs nothing), 100 on cuda (a
   * read waits for the GPU).
   */
  readEvery?: number;
}

export interface NonFiniteSegment {
  name: string;
  /** Non-finite entries in this segment. */
  count: number;
  offset: number;
  length: number;
}

/**
 * The functional twin: the segments of `vector` (default the gradient) holding NaN or ±Inf,
 * with how many each, in the ParamVector's order. One download; meant for the rare bad step.
 */
export function findNonFiniteSegments(
  pv: ParamVector,
  vector: FlatVector = pv.grads,
): NonFiniteSegment[] {
  const host = pv.ops.download(vector);
  const found: NonFiniteSegment[] = [];
  for (const s of pv.segments) {
    let count = 0;
    for (let i = s.offset; i < s.offset + s.length; i++) if (!Number.isFinite(host[i])) count++;
    if (count > 0) found.push({ name: s.name, count, offset: s.offset, length: s.length });
  }
  return found;
}

export class NanGuard implements Method {
  readonly name = 'nan-guard';
  readonly policy: NanPolicy;
  /** Steps skipped so far (with a gate: as of its latest read). */
  skipped = 0;
  private readonly readEvery: number | undefined;
  /** The gate the optimizer's steps read, when it takes one (from INIT on). */
  private gate: StepGate | null = null;
  private optimizer: Optimizer | null = null;
  /** The gate's hits already counted in `skipped`. */
  private seen = 0;
  /** Whether a check was queued since the last read (else a read would find nothing new). */
  private unread = false;
  /** Hits a checkpoint held that no read had acted on yet (the next read acts on them). */
  private pending: { steps: number; lastStep: number } | null = null;

  constructor(opts: NanGuardOptions = {}) {
    this.policy = opts.policy ?? 'skip';
    if (this.policy !== 'skip' && this.policy !== 'stop') {
      throw new UsageError(
        'ANNEAL_BAD_METHOD_OPTION',
        `nan-guard: policy = ${JSON.stringify(opts.policy)} is not valid: expected 'skip' or 'stop'`,
      );
    }
    const every = opts.readEvery;
    if (every !== undefined && !(Number.isSafeInteger(every) && every >= 1)) {
      throw new UsageError(
        'ANNEAL_BAD_METHOD_OPTION',
        `nan-guard: readEvery = ${JSON.stringify(every)} is not valid: expected a whole number of steps >= 1`,
      );
    }
    this.readEvery = every;
  }

  match(event: Event): boolean {
    return (
      event === Event.INIT ||
      event === Event.AFTER_BACKWARD ||
      event === Event.EPOCH_END ||
      event === Event.FIT_END
    );
  }

  apply(event: Event, state: TrainState, log: Logger): void {
    switch (event) {
      case Event.INIT:
        return this.attach(state);
      case Event.AFTER_BACKWARD:
        return this.gate ? this.checkIntoGate(state, log) : this.checkNow(state, log);
      case Event.EPOCH_END:
        return this.readGate(state, log);
      default:
        // FIT_END: the run's last steps, once it is over. A fit() that stops part way leaves
        // them to the next read, as a run resumed from the checkpoint it just wrote would.
        if (state.runComplete) this.readGate(state, log);
    }
  }

  /** A gate for the optimizer's fused steps, when it takes one. */
  private attach(state: TrainState): void {
    this.detach();
    const gate = new StepGate(state.ops);
    if (state.optimizer.attachGate?.(gate)) {
      this.gate = gate;
      this.optimizer = state.optimizer;
      this.seen = 0;
    } else {
      gate.dispose();
    }
  }

  private detach(): void {
    this.optimizer?.attachGate?.(null);
    this.gate?.dispose();
    this.gate = this.optimizer = null;
  }

  /**
   * Queues this step's check into the gate; reads the gate at every readEvery-th step (by step
   * number, so that a resumed run reads where the run it continues would have).
   */
  private checkIntoGate(state: TrainState, log: Logger): void {
    const step = state.timestamp.step;
    this.gate!.check(state.pv.grads, state.loss!, step);
    this.unread = true;
    const every = this.readEvery ?? (state.ops.name === 'cuda' ? 100 : 1);
    if ((step + 1) % every === 0) this.readGate(state, log);
  }

  /** Host check of this step (optimizers that take no gate): one reduction and the loss. */
  private checkNow(state: TrainState, log: Logger): void {
    const badGrads = state.ops.countNonFinite(state.pv.grads);
    const badLoss = !Number.isFinite(state.lossValue);
    if (badGrads === 0 && !badLoss) return;
    state.skipStep = true;
    this.hit(state, log, 1, state.timestamp.step, state.lossValue);
  }

  /**
   * Hits no read has acted on: those the gate counted since `seen` (`fresh`) and a checkpoint's
   * pending ones; `lastStep` the latest of them (-1: none).
   */
  private unacted(reading: GateReading | undefined) {
    const fresh = reading ? reading.hits - this.seen : 0;
    const steps = fresh + (this.pending?.steps ?? 0);
    const lastStep = fresh > 0 ? reading!.lastStep! : (this.pending?.lastStep ?? -1);
    return { fresh, steps, lastStep };
  }

  /** Reads the gate; counts, reports and acts on the steps it skipped since the last read. */
  private readGate(state: TrainState, log: Logger): void {
    if (!this.gate || (!this.unread && !this.pending)) return;
    this.unread = false;
    const reading = this.gate.read();
    const { fresh, steps, lastStep } = this.unacted(reading);
    if (steps === 0) return;
    this.seen = reading.hits;
    this.pending = null;
    this.optimizer!.settleGate?.();
    // Read at the bad step itself, its loss and gradient are still at hand.
    const current =
      fresh > 0 && reading.hit && lastStep === state.timestamp.step && state.batch !== null;
    this.hit(state, log, steps, lastStep, current ? reading.loss : null);
  }

  /**
   * `steps` skipped steps, the latest at `step`: counted, logged, and a stop requested under
   * 'stop'. `loss` is given when `step` is the current one: then the weights that went
   * non-finite are named from the gradient, which is still that step's.
   */
  private hit(
    state: TrainState,
    log: Logger,
    steps: number,
    step: number,
    loss: number | null,
  ): void {
    this.skipped += steps;
    state.metrics['nan-guard/skipped'] = this.skipped;
    const segments = loss !== null ? findNonFiniteSegments(state.pv) : [];
    const what =
      segments.length > 0
        ? `non-finite gradient in ${segments.map((s) => `'${s.name}' (${s.count} of ${s.length})`).join(', ')}`
        : loss !== null
          ? `non-finite loss ${loss}`
          : 'non-finite gradient or loss';
    const when =
      steps === 1
        ? `at step ${step}; the step was skipped`
        : `in ${steps} steps, the latest at step ${step}; they were skipped`;
    log.log('nan-guard', {
      policy: this.policy,
      skippedSteps: steps,
      lastStep: step,
      ...(loss !== null && {
        loss: String(loss),
        nonFinite: segments.reduce((sum, s) => sum + s.count, 0),
      }),
      segments: segments.map(({ name, count }) => ({ name, count })),
    });
    if (this.policy === 'stop' && !state.stopRequested) {
      state.stopRequested = true;
      state.stopReason = `${NAN_GUARD_STOP}: ${what} ${when}`;
    }
  }

  stateDict(): MethodState {
    // Hits the gate holds that no read has acted on yet: the resumed run acts on them at the
    // read where this one would.
    const { steps, lastStep } = this.unacted(this.gate?.read());
    return { skipped: this.skipped, pendingSteps: steps, pendingLastStep: lastStep };
  }

  loadStateDict(saved: MethodState): void {
    this.skipped = saved.skipped as number;
    // Checkpoints written before the step gate have no pending hits.
    const pending = (saved.pendingSteps as number | undefined) ?? 0;
    this.pending =
      pending > 0 ? { steps: pending, lastStep: saved.pendingLastStep as number } : null;
    this.seen = this.gate ? this.gate.read().hits : 0;
  }

  dispose(): void {
    this.detach();
  }
}

/** Whether a run's stop reason is the NaN guard's: the run diverged. */
export function isDivergence(stopReason: string | null | undefined): boolean {
  return stopReason?.startsWith(`${NAN_GUARD_STOP}:`) ?? false;
}

export function nanGuard(opts: NanGuardOptions = {}): NanGuard {
  return new NanGuard(opts);
}

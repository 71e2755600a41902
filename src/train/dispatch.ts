/**
 * Runs an event: the matching methods (in order, reversed on AFTER_* / *_END events), then the
 * callbacks' hooks, then hands the records logged meanwhile to the callbacks. Records a trace of
 * which methods ran (Composer's Engine).
 */
import { UsageError } from '../errors.js';
import { Event, isReversedEvent, TAPE_EVENTS } from './events.js';
import type { Callback, Hook, LogRecord, Logger, Method } from './method.js';
import type { TrainState } from './state.js';

const HOOKS: Partial<Record<Event, keyof Callback>> = {
  [Event.INIT]: 'onInit',
  [Event.FIT_START]: 'onFitStart',
  [Event.EPOCH_START]: 'onEpochStart',
  [Event.BATCH_START]: 'onBatchStart',
  [Event.BATCH_END]: 'onBatchEnd',
  [Event.EPOCH_END]: 'onEpochEnd',
  [Event.EVAL_START]: 'onEvalStart',
  [Event.EVAL_END]: 'onEvalEnd',
  [Event.FIT_END]: 'onFitEnd',
  [Event.CHECKPOINT]: 'onCheckpoint',
};

export interface TraceEntry {
  event: Event;
  /** Timestamp step when the event ran. */
  step: number;
  /** Names of the methods that ran, in the order they ran. */
  methods: string[];
}

export class EventDispatcher {
  /** Every event run so far (only when tracing is on: it grows with the run). */
  readonly trace: TraceEntry[] = [];
  /** The methods that ran at the latest run of each event (always kept; bounded). */
  readonly lastRan = new Map<Event, string[]>();
  readonly logger: Logger;
  /** Seconds spent in callbacks (the Trainer leaves them out of training time). */
  callbackSeconds = 0;
  private pending: LogRecord[] = [];
  private state: TrainState | null = null;

  constructor(
    readonly methods: readonly Method[],
    readonly callbacks: readonly Callback[],
    private readonly tracing: boolean,
  ) {
    const names = methods.map((m) => m.name);
    const repeated = names.filter((name, i) => names.indexOf(name) !== i);
    if (repeated.length > 0) {
      throw new UsageError(
        'ANNEAL_DUPLICATE_METHOD',
        `the method name(s) ${[...new Set(repeated)].join(', ')} appear more than once; give each ` +
          'method a unique name (it keys the method state in checkpoints).',
      );
    }
    this.logger = {
      log: (event, data = {}) => {
        const ts = this.state?.timestamp;
        this.pending.push({ event, step: ts?.step ?? 0, epoch: ts?.epoch ?? 0, ...data });
      },
    };
  }

  /** Runs the matching methods of `event` (synchronously: usable inside the gradient tape). */
  runMethods(event: Event, state: TrainState): void {
    this.state = state;
    const order = isReversedEvent(event) ? [...this.methods].reverse() : this.methods;
    const ran: string[] = [];
    for (const method of order) {
      if (!method.match(event, state)) continue;
      method.apply(event, state, this.logger);
      ran.push(method.name);
    }
    this.lastRan.set(event, ran);
    if (this.tracing) this.trace.push({ event, step: state.timestamp.step, methods: ran });
  }

  /** Methods, then callbacks (awaited in order), then the records logged meanwhile. */
  async run(event: Event, state: TrainState): Promise<void> {
    this.runMethods(event, state);
    if (TAPE_EVENTS.has(event)) return;
    if (this.callbacks.length === 0) {
      this.pending = []; // nobody to hand the records to
      return;
    }
    const started = performance.now();
    const hook = HOOKS[event];
    for (const callback of this.callbacks) {
      if (hook) await (callback[hook] as Hook | undefined)?.call(callback, state);
      await callback.onEvent?.(event, state);
    }
    await this.deliver(state);
    this.callbackSeconds += (performance.now() - started) / 1000;
  }

  /** Hands the records logged so far to the callbacks. */
  async flush(state: TrainState): Promise<void> {
    const started = performance.now();
    await this.deliver(state);
    this.callbackSeconds += (performance.now() - started) / 1000;
  }

  private async deliver(state: TrainState): Promise<void> {
    while (this.pending.length > 0) {
      const records = this.pending;
      this.pending = [];
      for (const record of records) {
        for (const callback of this.callbacks) await callback.onLog?.(record, state);
      }
    }
  }
}

/**
 * The Trainer's events, in the order one run fires them (Composer's Event). Methods run in
 * their given order on BEFORE_* / *_START events and in reverse order on AFTER_* / *_END events,
 * so that a method can undo on the way out what it did on the way in.
 *
 * Per batch: BATCH_START, then inside the gradient tape (synchronously) BEFORE_FORWARD,
 * AFTER_FORWARD, BEFORE_LOSS, AFTER_LOSS, BEFORE_BACKWARD; then AFTER_BACKWARD (gradients are
 * in pv.grads), BEFORE_STEP, AFTER_STEP, BATCH_END.
 */
export enum Event {
  INIT = 'init',
  FIT_START = 'fit_start',
  EPOCH_START = 'epoch_start',
  BATCH_START = 'batch_start',
  BEFORE_FORWARD = 'before_forward',
  AFTER_FORWARD = 'after_forward',
  BEFORE_LOSS = 'before_loss',
  AFTER_LOSS = 'after_loss',
  BEFORE_BACKWARD = 'before_backward',
  AFTER_BACKWARD = 'after_backward',
  BEFORE_STEP = 'before_step',
  AFTER_STEP = 'after_step',
  BATCH_END = 'batch_end',
  EPOCH_END = 'epoch_end',
  EVAL_START = 'eval_start',
  EVAL_END = 'eval_end',
  FIT_END = 'fit_end',
  CHECKPOINT = 'checkpoint',
}

export const EVENTS: readonly Event[] = Object.freeze(Object.values(Event));

/** Whether methods run in reverse order on this event (AFTER_* and *_END). */
export function isReversedEvent(event: Event): boolean {
  return event.startsWith('after_') || event.endsWith('_end');
}

/**
 * Events fired inside the gradient tape: only methods see them (synchronously, since the tape
 * cannot wait); callbacks, which may be async, do not.
 */
export const TAPE_EVENTS: ReadonlySet<Event> = new Set([
  Event.BEFORE_FORWARD,
  Event.AFTER_FORWARD,
  Event.BEFORE_LOSS,
  Event.AFTER_LOSS,
  Event.BEFORE_BACKWARD,
]);

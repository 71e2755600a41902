/**
 * Multi-fidelity schedulers as pure state machines: they hand out jobs ("train trial 7 from
 * resource 1 to 3") and take back scores, and know nothing of training, threads or files, so a
 * fake objective tests them. Resources are plain numbers in the search's time unit (epochs,
 * batches or samples); higher scores are better (validation accuracy).
 *
 * - successive halving (Jamieson & Talwalkar 2016; Li et al. 2018's inner loop): n configurations
 *   at r_0, the best floor(n_i / eta) promoted to the next rung, r_i = R * eta^(i - s);
 * - Hyperband (Li et al. 2018, Algorithm 1): brackets s = s_max..0, s_max = floor(log_eta(R/r)),
 *   n = ceil((s_max + 1) / (s + 1) * eta^s) configurations from r_0 = R * eta^-s;
 * - ASHA (Li et al. 2020): no rung barrier: a free worker promotes the first trial in the top
 *   floor(|rung| / eta) of a rung (highest rung first) not yet promoted, else starts a new one;
 * - median stopping (Golovin et al. 2017, Google Vizier): at each rung, a trial whose best score
 *   so far is below the median of the other trials' running averages at that rung is stopped;
 * - MORL's fidelity: the same rungs as successive halving, each promotion a complete short
 *   learning-rate cycle ('repeated') instead of the next piece of one long one ('truncated').
 */
import { UsageError } from '../errors.js';
import { maxOf } from '../stats.js';

/** How a job's training continues the trial's previous rung. */
export type Fidelity = 'truncated' | 'repeated';

export interface Job {
  trial: number;
  /** Hyperband bracket s (the other schedulers: their one bracket). */
  bracket: number;
  rung: number;
  /** Train until this much resource in total. */
  resource: number;
  /** Resource the trial has already had (its previous rung; 0 = start from scratch). */
  from: number;
  fidelity: Fidelity;
}

export type Outcome = { score: number } | { error: string };

export type TrialStatus = 'running' | 'paused' | 'promoted' | 'stopped' | 'completed' | 'failed';

export interface RungResult {
  rung: number;
  resource: number;
  score: number;
}

export interface TrialState {
  trial: number;
  bracket: number;
  status: TrialStatus;
  results: RungResult[];
  error?: string;
}

/** One rung of one bracket: how many trials it is planned for and how far they got. */
export interface RungProgress {
  bracket: number;
  rung: number;
  resource: number;
  /** Planned trials (SHA/Hyperband); null where the scheduler has no plan (ASHA, median). */
  planned: number | null;
  started: number;
  finished: number;
  failed: number;
}

export interface Scheduler {
  readonly name: string;
  /** The next job, 'wait' until a running job reports, or 'done'. */
  next(): Job | 'wait' | 'done';
  report(job: Job, outcome: Outcome): void;
  trials(): TrialState[];
  progress(): RungProgress[];
}

export interface RungPlan {
  /** Trials at each rung. */
  n: number[];
  /** Resource at each rung. */
  r: number[];
}

function checkResources(minResource: number, maxResource: number, eta: number): void {
  if (!(Number.isFinite(eta) && eta > 1)) {
    throw new UsageError(
      'ANNEAL_BAD_SEARCH',
      `eta = ${eta} is not valid: expected a number > 1 (3 is usual)`,
    );
  }
  if (!(minResource > 0 && maxResource >= minResource && Number.isFinite(maxResource))) {
    throw new UsageError(
      'ANNEAL_BAD_SEARCH',
      `resources min ${minResource}, max ${maxResource} are not valid: expected 0 < min <= max`,
    );
  }
}

/** s_max = floor(log_eta(R / r)), computed without the float error of log(81)/log(3) = 3.9999. */
export function maxBracket(minResource: number, maxResource: number, eta: number): number {
  checkResources(minResource, maxResource, eta);
  let s = 0;
  while (minResource * eta ** (s + 1) <= maxResource * (1 + 1e-9)) s++;
  return s;
}

/** Rung resources r_i = R * eta^(i - s), i = 0..s. */
export function rungResources(maxResource: number, eta: number, s: number): number[] {
  return Array.from({ length: s + 1 }, (_, i) => maxResource * eta ** (i - s));
}

/** Hyperband's brackets (Li et al. 2018, Algorithm 1), s = s_max first. */
export function hyperbandBrackets(
  minResource: number,
  maxResource: number,
  eta: number,
): RungPlan[] {
  const sMax = maxBracket(minResource, maxResource, eta);
  const plans: RungPlan[] = [];
  for (let s = sMax; s >= 0; s--) {
    // eta^s / (s+1) * (s_max+1) may land a hair above an integer in floating point.
    const n = Math.ceil(((sMax + 1) / (s + 1)) * eta ** s - 1e-9);
    plans.push(shaPlan(n, maxResource, eta, s));
  }
  return plans;
}

/** One successive-halving bracket of `n` configurations and s + 1 rungs ending at R. */
export function shaPlan(n: number, maxResource: number, eta: number, s: number): RungPlan {
  const counts = Array.from({ length: s + 1 }, (_, i) => Math.floor(n * eta ** -i + 1e-9));
  // Keep at least one trial per rung when n < eta^s.
  return { n: counts.map((c) => Math.max(1, c)), r: rungResources(maxResource, eta, s) };
}

/** Trial bookkeeping the schedulers share. */
abstract class Base implements Scheduler {
  abstract readonly name: string;
  protected readonly table = new Map<number, TrialState>();
  protected running = 0;
  private nextId = 0;
  /** Per `${bracket}/${rung}`: jobs issued, scores reported, failures. */
  private readonly counts = new Map<
    string,
    { started: number; finished: number; failed: number }
  >();

  abstract next(): Job | 'wait' | 'done';
  protected abstract onReport(job: Job, outcome: Outcome): void;
  abstract progress(): RungProgress[];

  protected newTrial(bracket: number): number {
    const trial = this.nextId++;
    this.table.set(trial, { trial, bracket, status: 'running', results: [] });
    return trial;
  }

  protected issue(job: Job): Job {
    this.running++;
    this.table.get(job.trial)!.status = 'running';
    this.count(job.bracket, job.rung).started++;
    return job;
  }

  private count(bracket: number, rung: number) {
    const key = `${bracket}/${rung}`;
    let c = this.counts.get(key);
    if (!c) this.counts.set(key, (c = { started: 0, finished: 0, failed: 0 }));
    return c;
  }

  report(job: Job, outcome: Outcome): void {
    const st = this.table.get(job.trial);
    if (!st || st.status !== 'running') {
      throw new Error(
        `scheduler ${this.name}: report for trial ${job.trial}, which is not running`,
      );
    }
    this.running--;
    if ('error' in outcome) {
      st.status = 'failed';
      st.error = outcome.error;
      this.count(job.bracket, job.rung).failed++;
    } else {
      st.results.push({ rung: job.rung, resource: job.resource, score: outcome.score });
      st.status = 'paused';
      this.count(job.bracket, job.rung).finished++;
    }
    this.onReport(job, outcome);
  }

  trials(): TrialState[] {
    return [...this.table.values()].map((t) => ({ ...t, results: [...t.results] }));
  }

  /** Score of a trial at a rung (undefined when it has none). */
  protected scoreAt(trial: number, rung: number): number | undefined {
    return this.table.get(trial)?.results.find((r) => r.rung === rung)?.score;
  }

  protected rungProgress(bracket: number, r: number[], planned: number[] | null): RungProgress[] {
    return r.map((resource, rung) => ({
      bracket,
      rung,
      resource,
      planned: planned ? planned[rung] : null,
      ...this.count(bracket, rung),
    }));
  }
}

/** Best first, ties to the lower trial id. */
function rank(entries: { trial: number; score: number }[]): { trial: number; score: number }[] {
  return [...entries].sort((a, b) => b.score - a.score || a.trial - b.trial);
}

/** A synchronous successive-halving bracket: promotion waits until its rung has finished. */
class Bracket {
  /** Trials of each rung, filled as they are promoted. */
  private readonly members: number[][];
  private readonly pending: Job[][];
  private readonly reported: number[];
  private finished = false;

  constructor(
    readonly s: number,
    readonly plan: RungPlan,
    private readonly fidelity: Fidelity,
  ) {
    this.members = plan.n.map(() => []);
    this.pending = plan.n.map(() => []);
    this.reported = plan.n.map(() => 0);
  }

  get rungs(): number {
    return this.plan.n.length;
  }

  /** The next job of this bracket, creating rung-0 trials with `create`. */
  next(create: () => number): Job | null {
    if (this.members[0].length < this.plan.n[0]) {
      const trial = create();
      this.members[0].push(trial);
      return this.job(trial, 0);
    }
    for (const queue of this.pending) if (queue.length > 0) return queue.shift()!;
    return null;
  }

  private job(trial: number, rung: number): Job {
    return {
      trial,
      bracket: this.s,
      rung,
      resource: this.plan.r[rung],
      from: rung === 0 ? 0 : this.plan.r[rung - 1],
      fidelity: this.fidelity,
    };
  }

  /**
   * Records a report (scored or failed). When it closes its rung, the best n[rung+1] of the
   * rung's scored trials are promoted and the rest stopped.
   */
  report(
    job: Job,
    scoreAt: (trial: number) => number | undefined,
  ): { promoted: number[]; stopped: number[] } {
    const rung = job.rung;
    this.reported[rung]++;
    const complete = rung > 0 || this.members[0].length === this.plan.n[0];
    if (!complete || this.reported[rung] < this.members[rung].length) {
      return { promoted: [], stopped: [] };
    }
    if (rung === this.rungs - 1) {
      this.finished = true;
      return { promoted: [], stopped: [] };
    }
    const scored = this.members[rung]
      .map((trial) => ({ trial, score: scoreAt(trial) }))
      .filter((e): e is { trial: number; score: number } => e.score !== undefined);
    const keep = rank(scored)
      .slice(0, this.plan.n[rung + 1])
      .map((e) => e.trial);
    for (const trial of keep) {
      this.members[rung + 1].push(trial);
      this.pending[rung + 1].push(this.job(trial, rung + 1));
    }
    // Every trial of the rung failed: nothing left to run in this bracket.
    if (keep.length === 0) this.finished = true;
    const stopped = scored.filter((e) => !keep.includes(e.trial)).map((e) => e.trial);
    return { promoted: keep, stopped };
  }

  done(): boolean {
    return this.finished;
  }
}

/** Synchronous successive halving over one or more brackets (Hyperband = all of them). */
export class SuccessiveHalving extends Base {
  readonly name: string;
  readonly brackets: Bracket[];

  constructor(plans: RungPlan[], opts: { name?: string; fidelity?: Fidelity } = {}) {
    super();
    this.name = opts.name ?? 'sha';
    const s = (p: RungPlan) => p.n.length - 1;
    this.brackets = plans.map((p) => new Bracket(s(p), p, opts.fidelity ?? 'truncated'));
  }

  next(): Job | 'wait' | 'done' {
    for (const bracket of this.brackets) {
      const job = bracket.next(() => this.newTrial(bracket.s));
      if (job) return this.issue(job);
    }
    return this.brackets.every((b) => b.done()) ? 'done' : 'wait';
  }

  protected onReport(job: Job): void {
    const bracket = this.brackets.find((b) => b.s === job.bracket)!;
    const { promoted, stopped } = bracket.report(job, (t) => this.scoreAt(t, job.rung));
    for (const t of promoted) this.table.get(t)!.status = 'promoted';
    for (const t of stopped) this.table.get(t)!.status = 'stopped';
    const st = this.table.get(job.trial)!;
    if (st.status === 'paused' && job.rung === bracket.rungs - 1) st.status = 'completed';
  }

  progress(): RungProgress[] {
    return this.brackets.flatMap((b) => this.rungProgress(b.s, b.plan.r, b.plan.n));
  }
}

export interface ShaOptions {
  minResource: number;
  maxResource: number;
  eta: number;
  /** Configurations at the first rung (default eta^s_max, so one reaches the last rung). */
  configs?: number;
}

/** Successive halving: one bracket with s = s_max (rungs from the largest r_0 >= min to max). */
export function successiveHalving(
  opts: ShaOptions & { fidelity?: Fidelity; name?: string },
): SuccessiveHalving {
  const s = maxBracket(opts.minResource, opts.maxResource, opts.eta);
  const n = opts.configs ?? Math.round(opts.eta ** s);
  checkConfigs(n);
  return new SuccessiveHalving([shaPlan(n, opts.maxResource, opts.eta, s)], {
    name: opts.name ?? 'sha',
    fidelity: opts.fidelity,
  });
}

/** MORL's multi-fidelity: successive halving whose every rung is a complete short lr cycle. */
export function morl(opts: ShaOptions): SuccessiveHalving {
  return successiveHalving({ ...opts, fidelity: 'repeated', name: 'morl' });
}

export function hyperband(opts: Omit<ShaOptions, 'configs'>): SuccessiveHalving {
  return new SuccessiveHalving(hyperbandBrackets(opts.minResource, opts.maxResource, opts.eta), {
    name: 'hyperband',
  });
}

function checkConfigs(n: number): void {
  if (!(Number.isInteger(n) && n >= 1)) {
    throw new UsageError(
      'ANNEAL_BAD_SEARCH',
      `configs = ${n} is not valid: expected an integer >= 1`,
    );
  }
}

/**
 * A scheduler over one ladder of rungs (the successive-halving resources from min to max) that
 * starts `configs` trials at rung 0, one at a time, as workers ask: ASHA and median stopping.
 */
abstract class OneLadder extends Base {
  protected readonly r: number[];
  private started = 0;

  constructor(protected readonly opts: ShaOptions) {
    super();
    const s = maxBracket(opts.minResource, opts.maxResource, opts.eta);
    this.r = rungResources(opts.maxResource, opts.eta, s);
    checkConfigs(this.configs);
  }

  get configs(): number {
    return this.opts.configs ?? Math.round(this.opts.eta ** (this.r.length - 1));
  }

  /** A new trial at rung 0 while fewer than `configs` have started; else undefined. */
  protected startNewTrial(): Job | undefined {
    if (this.started >= this.configs) return undefined;
    this.started++;
    return this.issue({
      trial: this.newTrial(0),
      bracket: 0,
      rung: 0,
      resource: this.r[0],
      from: 0,
      fidelity: 'truncated',
    });
  }
}

/** Asynchronous successive halving (ASHA): promote whenever a trial is in its rung's top 1/eta. */
export class Asha extends OneLadder {
  readonly name = 'asha';
  private readonly promotedFrom = this.r.map(() => new Set<number>());

  /** Trials of rung k that are in its top floor(|rung k| / eta) and not yet promoted. */
  promotable(k: number): number[] {
    const scored = [...this.table.values()]
      .map(({ trial }) => ({ trial, score: this.scoreAt(trial, k) }))
      .filter((e): e is { trial: number; score: number } => e.score !== undefined);
    const top = rank(scored).slice(0, Math.floor(scored.length / this.opts.eta));
    return top.map((e) => e.trial).filter((t) => !this.promotedFrom[k].has(t));
  }

  next(): Job | 'wait' | 'done' {
    for (let k = this.r.length - 2; k >= 0; k--) {
      const [trial] = this.promotable(k);
      if (trial !== undefined) {
        this.promotedFrom[k].add(trial);
        return this.issue({
          trial,
          bracket: 0,
          rung: k + 1,
          resource: this.r[k + 1],
          from: this.r[k],
          fidelity: 'truncated',
        });
      }
    }
    const started = this.startNewTrial();
    if (started) return started;
    if (this.running > 0) return 'wait';
    // Trials left in a rung without promotion are final.
    for (const t of this.table.values()) if (t.status === 'paused') t.status = 'stopped';
    return 'done';
  }

  protected onReport(job: Job): void {
    const st = this.table.get(job.trial)!;
    if (st.status === 'paused' && job.rung === this.r.length - 1) st.status = 'completed';
  }

  progress(): RungProgress[] {
    return this.rungProgress(0, this.r, null);
  }
}

export interface MedianOptions extends ShaOptions {
  /** Other trials needed at a rung before the rule may stop anyone (default 3). */
  minTrials?: number;
}

/**
 * The median stopping rule: every trial runs rung after rung (the successive-halving ladder as
 * its evaluation points) until the last, unless at rung k its best score so far is strictly
 * below the median of the running averages (mean of scores at rungs <= k) of the other trials
 * that have a score at rung k; at least `minTrials` of them are needed to stop anyone.
 */
export class MedianStopping extends OneLadder {
  readonly name = 'median';
  private readonly queue: Job[] = [];

  private readonly minTrials: number;

  constructor(opts: MedianOptions) {
    super(opts);
    this.minTrials = opts.minTrials ?? 3;
    if (!Number.isInteger(this.minTrials) || this.minTrials < 1) {
      throw new UsageError(
        'ANNEAL_BAD_SEARCH',
        `minTrials = ${this.minTrials} is not valid: expected an integer >= 1 (other trials a ` +
          'rung needs before the median rule stops anyone)',
      );
    }
  }

  next(): Job | 'wait' | 'done' {
    const queued = this.queue.shift();
    if (queued) return this.issue(queued);
    return this.startNewTrial() ?? (this.running > 0 ? 'wait' : 'done');
  }

  /** Whether the rule stops `trial` after its report at rung k. */
  shouldStop(trial: number, k: number): boolean {
    const own = this.table.get(trial)!.results.filter((r) => r.rung <= k);
    const best = maxOf(own.map((r) => r.score));
    const averages: number[] = [];
    for (const other of this.table.values()) {
      if (other.trial === trial || !other.results.some((r) => r.rung === k)) continue;
      const upTo = other.results.filter((r) => r.rung <= k);
      averages.push(upTo.reduce((a, r) => a + r.score, 0) / upTo.length);
    }
    if (averages.length < this.minTrials) return false;
    return best < median(averages);
  }

  protected onReport(job: Job, outcome: Outcome): void {
    if ('error' in outcome) return;
    const st = this.table.get(job.trial)!;
    if (job.rung === this.r.length - 1) {
      st.status = 'completed';
    } else if (this.shouldStop(job.trial, job.rung)) {
      st.status = 'stopped';
    } else {
      const k = job.rung + 1;
      this.queue.push({
        trial: job.trial,
        bracket: 0,
        rung: k,
        resource: this.r[k],
        from: this.r[k - 1],
        fidelity: 'truncated',
      });
    }
  }

  progress(): RungProgress[] {
    return this.rungProgress(0, this.r, null);
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const SCHEDULER_NAMES = ['sha', 'hyperband', 'asha', 'median', 'morl'] as const;
export type SchedulerName = (typeof SCHEDULER_NAMES)[number];

/** A scheduler by name. */
export function createScheduler(name: string, opts: MedianOptions): Scheduler {
  switch (name as SchedulerName) {
    case 'sha':
      return successiveHalving(opts);
    case 'morl':
      return morl(opts);
    case 'hyperband':
      return hyperband(opts);
    case 'asha':
      return new Asha(opts);
    case 'median':
      return new MedianStopping(opts);
    default:
      throw new UsageError(
        'ANNEAL_BAD_SEARCH',
        `scheduler ${JSON.stringify(name)} is not known; expected one of ${SCHEDULER_NAMES.join(', ')}`,
      );
  }
}

/** The best trial: the highest score at the largest resource any trial reached. */
export function bestTrial(
  trials: TrialState[],
): { trial: number; score: number; resource: number } | null {
  let best: { trial: number; score: number; resource: number } | null = null;
  for (const t of trials) {
    const last = t.results[t.results.length - 1];
    if (!last || !Number.isFinite(last.score)) continue;
    if (
      best === null ||
      last.resource > best.resource * (1 + 1e-9) ||
      (Math.abs(last.resource - best.resource) <= best.resource * 1e-9 && last.score > best.score)
    ) {
      best = { trial: t.trial, score: last.score, resource: last.resource };
    }
  }
  return best;
}

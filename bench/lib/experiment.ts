/**
 * The evidence protocol's experiment runner (bench/README.md, "Protocol"): a script states its
 * claim and plan, prints the plan with an estimate, and appends each finished (arm, seed) run to
 * its result file atomically, so a killed run continues where it stopped. A record is keyed by
 * arm, seed and the hash of the settings it ran with; a file is never mixed from two commits or
 * two settings of an arm: opening one says which and what to do instead.
 *
 *   const exp = openExperiment(plan, optionsFromArgv()); // --smoke, --fresh, --allow-dirty
 *   console.log(exp.planText({ msPerStep: measured }));
 *   await runPending(exp, async (arm, seed) => ({ metric: await train(arm, seed) }));
 *
 * (runPending is the loop: for each exp.pending() run, exp.record(arm, seed, result).)
 *
 * The tables generator reads the same file and renders the Evidence table from its records
 * (evidenceRow below): the verdict is computed from the runs, never stored.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { writeFileAtomic } from '../../src/atomic.js';
import { pairedSeedsChart, type ChartSpec } from '../../src/report/charts.js';
import {
  pairedEvidence,
  tInterval,
  type ClaimDirection,
  type PairedEvidence,
} from '../../src/stats.js';
import { gitCommit, machine, repoRoot, resultsDir, type Machine } from './results.js';
import { count, markdownTable, meanSpread, provenance, type ResultBase } from './tables.js';

/** The claim, stated before the run: one sentence each, and ONE primary comparison. */
export interface Claim {
  /** Who claimed it, e.g. 'Loshchilov & Hutter (2019)'. */
  paper: string;
  /** The paper's claim in one sentence. */
  claim: string;
  /** What each run reports, with its unit, e.g. 'test accuracy (points)'. */
  metric: string;
  /** The primary comparison: arm - baseline, paired by seed. */
  primary: {
    arm: string;
    baseline: string;
    /** 'greater': the claim is arm > baseline; 'less'; 'equivalent': |arm - baseline| < margin. */
    direction: ClaimDirection;
    /** The equivalence margin in the metric's unit, stated in advance (equivalence claims only). */
    margin?: number;
  };
}

/** One arm of an experiment: its name, cost per run and the settings that define it. */
export interface Arm {
  name: string;
  /** Optimizer steps per run. */
  steps: number;
  /** Training samples per step (the batch size; times M for batch augmentation). */
  samplesPerStep: number;
  /** Whatever else defines the arm (optimizer, lr, method options): part of its settings hash. */
  settings?: unknown;
}

export interface ExperimentPlan {
  /** The result file's name: bench/results/<name>.json. */
  name: string;
  claim: Claim;
  /** What every arm shares (data, model, subset sizes): part of every arm's settings hash. */
  config: Record<string, unknown>;
  arms: Arm[];
  /** Seeds (initial weights and data order), the same for every arm. */
  seeds: number[];
  /** In words, for the Evidence table: e.g. 'Fashion-MNIST 60k/10k, CNN, 3 epochs'. */
  scale: string;
  /** The budget in hours (default 3): the plan warns when its estimate exceeds it. */
  budgetHours?: number;
}

/** One finished (arm, seed) run. */
export interface RunRecord {
  arm: string;
  seed: number;
  /** sha256 of the shared config and the arm's definition, 12 hex digits. */
  settings: string;
  commit: string;
  date: string;
  metric: number;
  steps: number;
  samples: number;
  /** Anything else the script keeps (seconds, curves, secondary metrics). */
  extra?: Record<string, unknown>;
}

/** The number a record's extra holds under `key`; NaN where it holds none (for tables, charts). */
export function extraNumber(r: RunRecord, key: string): number {
  const v = r.extra?.[key];
  return typeof v === 'number' ? v : NaN;
}

/** A protocol result file: what bench/tables.ts reads. */
export interface ProtocolResult {
  name: string;
  date: string;
  commit: string;
  machine: Machine;
  smoke: boolean;
  protocol: {
    claim: Claim;
    scale: string;
    seeds: number[];
    arms: Arm[];
    budgetHours: number;
  };
  config: Record<string, unknown>;
  records: RunRecord[];
}

/** At least this many paired seeds for the primary comparison of a full (non-smoke) run. */
export const MIN_SEEDS = 5;
export const DEFAULT_BUDGET_HOURS = 3;

/** JSON with object keys sorted, so that the same settings always hash the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The settings hash of one arm: the shared config and everything that defines the arm. */
export function settingsHash(config: Record<string, unknown>, arm: Arm): string {
  return createHash('sha256').update(canonical({ config, arm })).digest('hex').slice(0, 12);
}

const short = (commit: string) => commit.replace(/^([0-9a-f]{10})[0-9a-f]*/, '$1');

function checkPlan(plan: ExperimentPlan, smoke: boolean): void {
  const names = plan.arms.map((a) => a.name);
  if (new Set(names).size !== names.length) throw new Error(`${plan.name}: two arms share a name`);
  if (new Set(plan.seeds).size !== plan.seeds.length) {
    throw new Error(`${plan.name}: a seed is listed twice`);
  }
  const { arm, baseline, direction, margin } = plan.claim.primary;
  for (const a of [arm, baseline]) {
    if (!names.includes(a))
      throw new Error(`${plan.name}: the primary comparison's arm '${a}' is not in the plan`);
  }
  if (direction === 'equivalent' && !(margin !== undefined && margin > 0)) {
    throw new Error(`${plan.name}: an equivalence claim states its margin (> 0) before the run`);
  }
  if (!smoke && plan.seeds.length < MIN_SEEDS) {
    throw new Error(
      `${plan.name}: the protocol needs >= ${MIN_SEEDS} paired seeds for the primary comparison, the plan has ${plan.seeds.length}`,
    );
  }
}

export interface OpenOptions {
  /** Smoke runs write <name>.smoke.json (ignored by git), may run on a dirty tree and start afresh. */
  smoke: boolean;
  /** Start over: the existing file's records are dropped (it is replaced at the first record). */
  fresh?: boolean;
  /** Allow a full run on a dirty tree (its result will not pass bench:tables). */
  allowDirty?: boolean;
  /** For tests: the results folder and the commit (default bench/results and gitCommit()). */
  dir?: string;
  commit?: string;
}

export class Experiment {
  readonly path: string;
  private readonly hashes: Map<string, string>;
  private readonly result: ProtocolResult;

  constructor(
    readonly plan: ExperimentPlan,
    private readonly opts: OpenOptions & { commit: string; dir: string },
    existing: ProtocolResult | undefined,
  ) {
    this.path = join(opts.dir, `${plan.name}${opts.smoke ? '.smoke' : ''}.json`);
    this.hashes = new Map(plan.arms.map((a) => [a.name, settingsHash(plan.config, a)]));
    this.result = {
      name: plan.name,
      date: new Date().toISOString(),
      commit: opts.commit,
      machine: machine(),
      smoke: opts.smoke,
      protocol: {
        claim: plan.claim,
        scale: plan.scale,
        seeds: plan.seeds,
        arms: plan.arms,
        budgetHours: plan.budgetHours ?? DEFAULT_BUDGET_HOURS,
      },
      config: plan.config,
      records: existing?.records ?? [],
    };
  }

  /** The (arm, seed) runs not recorded yet, seed by seed (so that pairs complete early). */
  pending(): { arm: string; seed: number }[] {
    return this.plan.seeds.flatMap((seed) =>
      this.plan.arms.filter((a) => !this.get(a.name, seed)).map((a) => ({ arm: a.name, seed })),
    );
  }

  get(arm: string, seed: number): RunRecord | undefined {
    const settings = this.hashes.get(arm);
    return this.result.records.find(
      (r) => r.arm === arm && r.seed === seed && r.settings === settings,
    );
  }

  get records(): readonly RunRecord[] {
    return this.result.records;
  }

  /** Appends one finished run and rewrites the file atomically (temporary file, then rename). */
  record(
    arm: string,
    seed: number,
    run: { metric: number; extra?: Record<string, unknown> },
  ): RunRecord {
    const def = this.plan.arms.find((a) => a.name === arm);
    if (!def) throw new Error(`${this.plan.name}: no arm '${arm}' in the plan`);
    if (!this.plan.seeds.includes(seed))
      throw new Error(`${this.plan.name}: seed ${seed} is not in the plan`);
    if (this.get(arm, seed))
      throw new Error(`${this.plan.name}: ${arm} seed ${seed} is already recorded`);
    if (!Number.isFinite(run.metric)) {
      // A diverged run is a result too, but not a number the t-interval can use: say so.
      throw new Error(`${this.plan.name}: ${arm} seed ${seed} reported metric ${run.metric}`);
    }
    const record: RunRecord = {
      arm,
      seed,
      settings: this.hashes.get(arm)!,
      commit: this.opts.commit,
      date: new Date().toISOString(),
      metric: run.metric,
      steps: def.steps,
      samples: def.steps * def.samplesPerStep,
      ...(run.extra ? { extra: run.extra } : {}),
    };
    this.result.records.push(record);
    this.result.date = record.date;
    mkdirSync(this.opts.dir, { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.result, null, 2) + '\n');
    renameSync(tmp, this.path);
    return record;
  }

  /**
   * A computation per seed that several arms share (one pre-trained network, one run recorded
   * as two arms): computed once a seed and kept in memory, and for a full run at a clean commit
   * also on disk, in os.tmpdir()/anneal-<name>/<key of the file, commit and every arm's
   * settings>, so that a run killed between two records of a seed records the rest from the
   * same computation rather than a recomputed one. `codec` turns a value into the file's text
   * and back (default JSON); `clear()` removes the folder.
   */
  perSeed<T>(
    compute: (seed: number) => Promise<T>,
    codec: { encode(value: T): string; decode(text: string): T } = {
      encode: (value) => JSON.stringify(value),
      decode: (text) => JSON.parse(text) as T,
    },
  ): { get(seed: number): Promise<T>; clear(): void; readonly dir: string | null } {
    const key = createHash('sha256')
      .update(this.path)
      .update(this.opts.commit)
      .update([...this.hashes.values()].join(','))
      .digest('hex')
      .slice(0, 16);
    // A dirty tree may change under one commit string: nothing it computed is kept.
    const onDisk = !this.opts.smoke && /^[0-9a-f]{40}$/.test(this.opts.commit);
    const dir = onDisk ? join(tmpdir(), `anneal-${this.plan.name}`, key) : null;
    const known = new Map<number, T>();
    return {
      dir,
      async get(seed: number): Promise<T> {
        const had = known.get(seed);
        if (had !== undefined) return had;
        const file = dir && join(dir, `seed-${seed}.json`);
        let value: T;
        if (file && existsSync(file)) {
          value = codec.decode(readFileSync(file, 'utf8'));
          console.log(`  seed ${seed}: computed before, from ${file}`);
        } else {
          value = await compute(seed);
          if (file) writeFileAtomic(file, codec.encode(value));
        }
        known.set(seed, value);
        return value;
      },
      clear(): void {
        if (dir) rmSync(dir, { recursive: true, force: true });
      },
    };
  }

  /** Arms × seeds × steps, cost in steps and samples, and an estimate from a measured step time. */
  planText(opts: { msPerStep?: number } = {}): string {
    const { arms, seeds, name } = this.plan;
    const runs = arms.length * seeds.length;
    const total = { steps: 0, samples: 0 };
    const left = { steps: 0, samples: 0, runs: 0 };
    for (const arm of arms) {
      total.steps += arm.steps * seeds.length;
      total.samples += arm.steps * arm.samplesPerStep * seeds.length;
    }
    for (const { arm } of this.pending()) {
      const a = arms.find((x) => x.name === arm)!;
      left.steps += a.steps;
      left.samples += a.steps * a.samplesPerStep;
      left.runs++;
    }
    const { claim } = this.plan;
    const p = claim.primary;
    const rule =
      p.direction === 'equivalent'
        ? `|${p.arm} - ${p.baseline}| < ${p.margin} by TOST (alpha 0.05)`
        : `${p.arm} ${p.direction === 'greater' ? '>' : '<'} ${p.baseline}: 95% t-interval of the paired difference`;
    const lines = [
      `plan ${name}${this.opts.smoke ? ' (smoke)' : ''}: ${arms.length} arms x ${seeds.length} seeds = ${runs} runs; ${this.plan.scale}`,
      `  claim (${claim.paper}): ${claim.claim}`,
      `  metric: ${claim.metric}; primary: ${rule}; seeds ${seeds.join(', ')}`,
      ...arms.map(
        (a) =>
          `  ${a.name}: ${count(a.steps)} steps x ${count(a.samplesPerStep)} samples = ${count(a.steps * a.samplesPerStep)} samples a run`,
      ),
      `  in all: ${count(total.steps)} steps, ${count(total.samples)} samples; recorded ${runs - left.runs} of ${runs} runs in ${relative(repoRoot, this.path)}`,
      `  to run: ${left.runs} runs, ${count(left.steps)} steps, ${count(left.samples)} samples`,
    ];
    if (opts.msPerStep !== undefined) {
      const hours = (left.steps * opts.msPerStep) / 3.6e6;
      const all = (total.steps * opts.msPerStep) / 3.6e6;
      const budget = this.plan.budgetHours ?? DEFAULT_BUDGET_HOURS;
      const fmt = (h: number) => (h < 1 ? `${(h * 60).toFixed(1)} min` : `${h.toFixed(2)} h`);
      lines.push(
        `  estimate: ${fmt(hours)} to run (${fmt(all)} for the whole plan) at ${opts.msPerStep.toFixed(1)} ms a step, measured now; background runs share the cores, so this is a guide`,
      );
      if (all > budget) {
        lines.push(
          `  WARNING: the whole plan (${fmt(all)}) exceeds the ${budget} h budget: fewer steps or arms, or a smaller subset (and say so beside the MDE)`,
        );
      }
    }
    return lines.join('\n');
  }

  /** The primary comparison's evidence so far (undefined with fewer than 2 complete pairs). */
  evidence(): PairedEvidence | undefined {
    return evidenceOf(this.result);
  }

  /** One line: the verdict so far, or what is missing. */
  verdictLine(): string {
    return evidenceLine(this.result);
  }
}

function readResult(path: string): ProtocolResult {
  const r = JSON.parse(readFileSync(path, 'utf8')) as ProtocolResult;
  if (!Array.isArray(r.records) || !r.protocol) {
    throw new Error(`${path}: not a protocol result (no records): move it away, or pass --fresh`);
  }
  return r;
}

/**
 * Opens an experiment: checks its plan, reads the records of an earlier run of it and refuses to
 * mix. A full run refuses a dirty tree (unless allowDirty), a file recorded at another commit,
 * a record whose arm is not in the plan or whose arm's settings changed; each with one line that
 * says what to do.
 */
export function openExperiment(plan: ExperimentPlan, opts: OpenOptions): Experiment {
  checkPlan(plan, opts.smoke);
  const commit = opts.commit ?? gitCommit();
  const dir = opts.dir ?? resultsDir;
  const path = join(dir, `${plan.name}${opts.smoke ? '.smoke' : ''}.json`);
  const where = relative(repoRoot, path);
  if (!opts.smoke && !opts.allowDirty && !/^[0-9a-f]{40}$/.test(commit)) {
    throw new Error(
      `${plan.name}: refusing a full run at ${short(commit)}: commit first, or run from a worktree (bench/worktree.sh), so that its result can be published`,
    );
  }
  // Smoke runs prove the script runs; they start afresh each time.
  const fresh = opts.fresh ?? opts.smoke;
  const existing = !fresh && existsSync(path) ? readResult(path) : undefined;
  if (existing) {
    const n = existing.records.length;
    if (existing.commit !== commit) {
      throw new Error(
        `${where} holds ${n} runs recorded at ${short(existing.commit)}, this tree is at ${short(commit)}: ` +
          `resume from a worktree at that commit (bench/worktree.sh ${short(existing.commit).replace('+dirty', '')}), or start over with --fresh`,
      );
    }
    const hashes = new Map(plan.arms.map((a) => [a.name, settingsHash(plan.config, a)]));
    for (const r of existing.records) {
      const now = hashes.get(r.arm);
      if (now === undefined) {
        throw new Error(
          `${where}: arm '${r.arm}' (seed ${r.seed}) is recorded but not in this plan: restore the arm, or start over with --fresh`,
        );
      }
      if (r.commit !== commit) {
        throw new Error(
          `${where}: ${r.arm} seed ${r.seed} was recorded at ${short(r.commit)}, the file at ${short(existing.commit)}: start over with --fresh`,
        );
      }
      if (now !== r.settings) {
        throw new Error(
          `${where}: the settings of arm '${r.arm}' changed since seed ${r.seed} was recorded (${r.settings} -> ${now}): undo the change, or start over with --fresh`,
        );
      }
    }
  }
  return new Experiment(plan, { ...opts, commit, dir }, existing);
}

/** The runner's flags: --smoke, --fresh (start over), --allow-dirty (a full run on a dirty tree). */
export function optionsFromArgv(argv: readonly string[] = process.argv): OpenOptions {
  return {
    smoke: argv.includes('--smoke'),
    ...(argv.includes('--fresh') && { fresh: true }),
    ...(argv.includes('--allow-dirty') && { allowDirty: true }),
  };
}

/**
 * Runs every pending (arm, seed) in order and records each as it finishes, with one line each;
 * then prints the verdict line. A killed run loses only the run in progress.
 */
export async function runPending(
  exp: Experiment,
  runOne: (arm: Arm, seed: number) => Promise<{ metric: number; extra?: Record<string, unknown> }>,
  log: (line: string) => void = console.log,
): Promise<void> {
  const todo = exp.pending();
  const done = exp.records.length;
  for (const [i, { arm, seed }] of todo.entries()) {
    const def = exp.plan.arms.find((a) => a.name === arm)!;
    const r = exp.record(arm, seed, await runOne(def, seed));
    log(`[${done + i + 1}/${done + todo.length}] ${arm} seed ${seed}: ${r.metric} (recorded)`);
  }
  log(exp.verdictLine());
}

/**
 * `value` of arm minus `value` of baseline over the seeds both have, in seed order (any number a
 * record holds, the metric by default); non-finite differences are left out.
 */
export function pairedValues(
  r: ProtocolResult,
  arm: string,
  baseline: string,
  value: (x: RunRecord) => number = (x) => x.metric,
): number[] {
  const base = new Map(r.records.filter((x) => x.arm === baseline).map((x) => [x.seed, value(x)]));
  return r.records
    .filter((x) => x.arm === arm && base.has(x.seed))
    .sort((a, b) => a.seed - b.seed)
    .map((x) => value(x) - base.get(x.seed)!)
    .filter((d) => Number.isFinite(d));
}

/**
 * `+0.74 [0.58, 0.90] (5 seeds)`: the mean and its 95% t-interval (the one value alone, or '–'
 * for none). `signed: false` drops the '+', `seeds: false` the count.
 */
export function intervalText(
  xs: readonly number[],
  format: (x: number) => string = (x) => x.toFixed(2),
  opts: { signed?: boolean; seeds?: boolean } = {},
): string {
  const { signed = true, seeds = true } = opts;
  if (xs.length < 2) return xs.length === 1 ? format(xs[0]) : '–';
  const i = tInterval(xs);
  const mean = signed && i.mean >= 0 ? `+${format(i.mean)}` : format(i.mean);
  return `${mean} [${format(i.lower)}, ${format(i.upper)}]` + (seeds ? ` (${i.n} seeds)` : '');
}

export function evidenceOf(r: ProtocolResult): PairedEvidence | undefined {
  const { arm, baseline } = r.protocol.claim.primary;
  const differences = pairedValues(r, arm, baseline);
  if (differences.length < 2) return undefined;
  return pairedEvidence(differences, r.protocol.claim.primary);
}

const signed = (x: number, digits: number) => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;

/** The verdict line of a protocol result, as the script prints it at the end. */
export function evidenceLine(r: ProtocolResult, digits = 2): string {
  const { arm, baseline } = r.protocol.claim.primary;
  const e = evidenceOf(r);
  if (!e) return `${r.name}: ${arm} vs ${baseline}: fewer than 2 paired seeds, no verdict yet`;
  const i = e.interval;
  const tost = e.tost ? `; TOST margin ±${e.tost.margin}, p ${e.tost.p.toPrecision(2)}` : '';
  return (
    `${r.name}: ${arm} - ${baseline} = ${signed(i.mean, digits)} [${i.lower.toFixed(digits)}, ${i.upper.toFixed(digits)}] ` +
    `(95% CI, ${i.n} paired seeds; MDE ${e.mde.toFixed(digits)}${tost}): ${e.verdict}`
  );
}

/**
 * One row of the Evidence table: paper | claim | verdict | effect ± 95% CI | MDE | scale | seeds
 * | steps (per run of the primary arm).
 */
export function evidenceRow(r: ProtocolResult, digits = 2): string[] {
  const { claim } = r.protocol;
  const e = evidenceOf(r);
  const pairs = pairedValues(r, claim.primary.arm, claim.primary.baseline).length;
  const arm = r.protocol.arms.find((a) => a.name === claim.primary.arm);
  const effect = e
    ? `${signed(e.interval.mean, digits)} [${e.interval.lower.toFixed(digits)}, ${e.interval.upper.toFixed(digits)}]` +
      (e.tost ? ` (margin ±${e.tost.margin})` : '')
    : '–';
  return [
    claim.paper,
    `${claim.claim} (${claim.primary.arm} vs ${claim.primary.baseline}, ${claim.metric})`,
    e ? `**${e.verdict}**` : 'no verdict (< 2 pairs)',
    effect,
    e ? e.mde.toFixed(digits) : '–',
    r.protocol.scale,
    String(pairs),
    arm ? count(arm.steps) : '–',
  ];
}

/** A result file follows the protocol when it has records and a stated claim. */
export function isProtocolResult(r: unknown): r is ProtocolResult {
  const x = r as Partial<ProtocolResult> | null;
  return !!x && typeof x === 'object' && Array.isArray(x.records) && !!x.protocol?.claim;
}

/** The Evidence table of bench/README.md from every protocol result (a line when there is none). */
export function renderEvidence(results: readonly ProtocolResult[]): string {
  if (results.length === 0) {
    return (
      'No result follows the evidence protocol yet: this table is generated from the result files ' +
      'that do (bench/lib/experiment.ts), one row per experiment. The experiment tables below ' +
      'were recorded before it, and each says so in a legacy line.'
    );
  }
  const rows = [...results].sort((a, b) => (a.name < b.name ? -1 : 1)).map((r) => evidenceRow(r));
  return [
    'One row per experiment, computed from its runs: the primary comparison (arm - baseline, paired by seed), its 95% t-interval, the verdict the interval gives and the minimum detectable effect at 80% power (bench/README.md, "Protocol").',
    markdownTable(
      ['paper', 'claim', 'verdict', 'effect [95% CI]', 'MDE', 'scale', 'seeds', 'steps'],
      rows,
      ['l', 'l', 'l', 'r', 'r', 'l', 'r', 'r'],
    ),
  ].join('\n\n');
}

/**
 * A method card's summary of an experiment (section `evidence-<name>`): the claim, the verdict
 * line and the scale, so the card's Results section shows its row of the Evidence table.
 */
export function renderEvidenceCard(r: ProtocolResult): string {
  const { claim } = r.protocol;
  const e = evidenceOf(r);
  return (
    `**${e ? e.verdict : 'no verdict yet'}** under the evidence protocol (bench/README.md): ` +
    `${claim.paper}: ${claim.claim} Primary comparison ${claim.primary.arm} − ` +
    `${claim.primary.baseline} in ${claim.metric}: ${evidenceLine(r).replace(/^[^:]*: /, '')}. ` +
    `${r.protocol.scale}; commit ${short(r.commit)}.`
  );
}

/** The default table of a protocol result: each arm's metric over seeds, the verdict, provenance. */
export function renderProtocol(r: ProtocolResult & ResultBase): string {
  const rows = r.protocol.arms.map((a) => {
    const xs = r.records.filter((x) => x.arm === a.name).map((x) => x.metric);
    return [
      a.name,
      String(xs.length),
      meanSpread(xs),
      count(a.steps),
      count(a.steps * a.samplesPerStep),
    ];
  });
  const { claim } = r.protocol;
  return [
    `${claim.paper}: ${claim.claim} Metric: ${claim.metric}, mean ± sd over seeds; ${r.protocol.scale}.`,
    markdownTable(['arm', 'seeds', claim.metric, 'steps', 'samples'], rows),
    evidenceLine(r),
    provenance(r),
  ].join('\n\n');
}

/**
 * The figure every protocol result gets, bench/results/<name>-seeds.svg: each arm's metric per
 * seed, a line joining a seed's runs, and each arm's mean.
 */
export function protocolCharts(r: ProtocolResult): Record<string, ChartSpec> {
  const runs = r.records.map((x) => ({ arm: x.arm, seed: x.seed, value: x.metric }));
  const order = r.protocol.arms.map((a) => a.name);
  runs.sort((a, b) => order.indexOf(a.arm) - order.indexOf(b.arm) || a.seed - b.seed);
  return {
    [`${r.name}-seeds`]: pairedSeedsChart(runs, {
      title: `${r.protocol.claim.paper}: each seed's runs`,
      yTitle: r.protocol.claim.metric,
    }),
  };
}

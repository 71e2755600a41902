/**
 * The evidence protocol's machinery (bench/lib/experiment.ts, bench/lib/results.ts): resumable
 * records that refuse to mix commits or settings, the plan, the verdict from the records, and the
 * provenance rules bench:tables applies, on temporary folders and a throwaway git repository.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  evidenceLine,
  evidenceRow,
  intervalText,
  openExperiment,
  optionsFromArgv,
  pairedValues,
  protocolCharts,
  runPending,
  renderEvidence,
  settingsHash,
  type ExperimentPlan,
  type ProtocolResult,
} from '../../bench/lib/experiment.js';
import { gitCommit, provenanceProblem } from '../../bench/lib/results.js';
import { renderResult } from '../../bench/tables.js';

const scratch = mkdtempSync(join(tmpdir(), 'anneal-experiment-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let folders = 0;
const folder = () => join(scratch, `results-${folders++}`);

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

const plan = (over: Partial<ExperimentPlan> = {}): ExperimentPlan => ({
  name: 'toy',
  claim: {
    paper: 'Someone (2020)',
    claim: 'The method beats the baseline.',
    metric: 'test accuracy (points)',
    primary: { arm: 'method', baseline: 'baseline', direction: 'greater' },
  },
  config: { data: 'mnist', limit: 1000 },
  arms: [
    { name: 'baseline', steps: 100, samplesPerStep: 64, settings: { lr: 1e-3 } },
    { name: 'method', steps: 100, samplesPerStep: 64, settings: { lr: 1e-3, alpha: 0.1 } },
  ],
  seeds: [0, 1, 2, 3, 4],
  scale: 'MNIST 1k/1k, MLP, 100 steps',
  ...over,
});

test('the settings hash ignores key order and changes with any setting', () => {
  const arm = { name: 'x', steps: 10, samplesPerStep: 8, settings: { a: 1, b: [1, 2] } };
  const same = { samplesPerStep: 8, settings: { b: [1, 2], a: 1 }, steps: 10, name: 'x' };
  assert.equal(settingsHash({ p: 1, q: 2 }, arm), settingsHash({ q: 2, p: 1 }, same));
  assert.notEqual(settingsHash({ p: 1 }, arm), settingsHash({ p: 2 }, arm));
  assert.notEqual(settingsHash({ p: 1 }, arm), settingsHash({ p: 1 }, { ...arm, steps: 11 }));
  assert.match(settingsHash({}, arm), /^[0-9a-f]{12}$/);
});

test('runs are appended as they finish, and a second run skips what is recorded', () => {
  const dir = folder();
  const first = openExperiment(plan(), { smoke: false, dir, commit: A });
  assert.equal(first.pending().length, 10);
  // Seed by seed, so that pairs complete early.
  assert.deepEqual(first.pending().slice(0, 3), [
    { arm: 'baseline', seed: 0 },
    { arm: 'method', seed: 0 },
    { arm: 'baseline', seed: 1 },
  ]);
  first.record('baseline', 0, { metric: 90, extra: { seconds: 3 } });
  first.record('method', 0, { metric: 91 });
  first.record('baseline', 1, { metric: 92 });
  // "Killed" here: a new process opens the same file.
  const onDisk = JSON.parse(readFileSync(join(dir, 'toy.json'), 'utf8')) as ProtocolResult;
  assert.equal(onDisk.records.length, 3);
  assert.equal(onDisk.commit, A);
  assert.equal(onDisk.records[0].samples, 6400);
  assert.deepEqual(onDisk.records[0].extra, { seconds: 3 });
  const second = openExperiment(plan(), { smoke: false, dir, commit: A });
  assert.equal(second.pending().length, 7);
  assert.deepEqual(second.pending()[0], { arm: 'method', seed: 1 });
  assert.throws(() => second.record('baseline', 0, { metric: 1 }), /already recorded/);
  assert.throws(() => second.record('other', 0, { metric: 1 }), /no arm 'other'/);
  assert.throws(() => second.record('method', 9, { metric: 1 }), /seed 9 is not in the plan/);
  assert.throws(() => second.record('method', 1, { metric: NaN }), /reported metric NaN/);
  // --fresh starts over.
  assert.equal(
    openExperiment(plan(), { smoke: false, dir, commit: B, fresh: true }).pending().length,
    10,
  );
});

test('a file is never mixed from two commits or two settings of an arm', () => {
  const dir = folder();
  openExperiment(plan(), { smoke: false, dir, commit: A }).record('baseline', 0, { metric: 90 });
  assert.throws(
    () => openExperiment(plan(), { smoke: false, dir, commit: B }),
    /holds 1 runs recorded at aaaaaaaaaa, this tree is at bbbbbbbbbb: resume from a worktree at that commit \(bench\/worktree.sh aaaaaaaaaa\), or start over with --fresh/,
  );
  const changed = plan();
  changed.arms[0] = { ...changed.arms[0], settings: { lr: 3e-3 } };
  assert.throws(
    () => openExperiment(changed, { smoke: false, dir, commit: A }),
    /the settings of arm 'baseline' changed since seed 0 was recorded/,
  );
  assert.throws(
    () =>
      openExperiment(
        { ...plan(), config: { data: 'fashion-mnist', limit: 1000 } },
        { smoke: false, dir, commit: A },
      ),
    /settings of arm 'baseline' changed/,
  );
  const renamed = plan({
    arms: [plan().arms[1], { ...plan().arms[0], name: 'base' }],
    claim: { ...plan().claim, primary: { arm: 'method', baseline: 'base', direction: 'greater' } },
  });
  assert.throws(
    () => openExperiment(renamed, { smoke: false, dir, commit: A }),
    /arm 'baseline' \(seed 0\) is recorded but not in this plan/,
  );
  // A new arm next to the recorded ones is fine: its runs are simply pending.
  const more = plan({ arms: [...plan().arms, { name: 'extra', steps: 50, samplesPerStep: 64 }] });
  assert.equal(openExperiment(more, { smoke: false, dir, commit: A }).pending().length, 14);
});

test('a full run needs a clean commit and 5 seeds; smoke runs need neither and start afresh', () => {
  const dir = folder();
  assert.throws(
    () => openExperiment(plan(), { smoke: false, dir, commit: `${A}+dirty` }),
    /refusing a full run at aaaaaaaaaa\+dirty/,
  );
  assert.throws(
    () => openExperiment(plan({ seeds: [0, 1, 2] }), { smoke: false, dir, commit: A }),
    />= 5 paired seeds/,
  );
  const smoke = openExperiment(plan({ seeds: [0, 1] }), { smoke: true, dir, commit: `${A}+dirty` });
  smoke.record('baseline', 0, { metric: 1 });
  assert.match(smoke.path, /toy\.smoke\.json$/);
  assert.equal(
    openExperiment(plan({ seeds: [0, 1] }), { smoke: true, dir, commit: B }).pending().length,
    4,
  );
  assert.throws(
    () =>
      openExperiment(
        plan({
          claim: {
            ...plan().claim,
            primary: { arm: 'method', baseline: 'baseline', direction: 'equivalent' },
          },
        }),
        { smoke: true, dir, commit: A },
      ),
    /states its margin/,
  );
  assert.throws(
    () =>
      openExperiment(
        plan({
          claim: {
            ...plan().claim,
            primary: { arm: 'method', baseline: 'none', direction: 'less' },
          },
        }),
        { smoke: true, dir, commit: A },
      ),
    /arm 'none' is not in the plan/,
  );
});

test('the plan: arms x seeds x steps, cost in steps and samples, an estimate and the budget', () => {
  const dir = folder();
  const exp = openExperiment(plan(), { smoke: false, dir, commit: A });
  exp.record('baseline', 0, { metric: 90 });
  const text = exp.planText({ msPerStep: 20 });
  assert.match(text, /^plan toy: 2 arms x 5 seeds = 10 runs; MNIST 1k\/1k, MLP, 100 steps$/m);
  assert.match(text, /method: 100 steps x 64 samples = 6,400 samples a run/);
  assert.match(text, /in all: 1,000 steps, 64,000 samples; recorded 1 of 10 runs/);
  assert.match(text, /to run: 9 runs, 900 steps, 57,600 samples/);
  // 900 steps x 20 ms = 18 s = 0.3 min; the whole plan 20 s.
  assert.match(
    text,
    /estimate: 0\.3 min to run \(0\.3 min for the whole plan\) at 20\.0 ms a step/,
  );
  assert.doesNotMatch(text, /WARNING/);
  // 1000 steps at 11 s a step: 3.06 h, over the 3 h budget.
  assert.match(
    exp.planText({ msPerStep: 11_000 }),
    /WARNING: the whole plan \(3\.06 h\) exceeds the 3 h budget/,
  );
});

test('the verdict comes from the paired records, and the Evidence table from the results', () => {
  const dir = folder();
  const exp = openExperiment(plan(), { smoke: false, dir, commit: A });
  assert.match(exp.verdictLine(), /fewer than 2 paired seeds, no verdict yet/);
  // Differences 1..5 (worked by hand in test/stats.test.ts): 3 [1.04, 4.96], MDE 2.63.
  for (const seed of [0, 1, 2, 3, 4]) {
    exp.record('baseline', seed, { metric: 90 + seed });
    exp.record('method', seed, { metric: 90 + seed + seed + 1 });
  }
  assert.equal(
    exp.verdictLine(),
    'toy: method - baseline = +3.00 [1.04, 4.96] (95% CI, 5 paired seeds; MDE 2.63): reproduced',
  );
  const result = JSON.parse(readFileSync(exp.path, 'utf8')) as ProtocolResult;
  assert.deepEqual(evidenceRow(result), [
    'Someone (2020)',
    'The method beats the baseline. (method vs baseline, test accuracy (points))',
    '**reproduced**',
    '+3.00 [1.04, 4.96]',
    '2.63',
    'MNIST 1k/1k, MLP, 100 steps',
    '5',
    '100',
  ]);
  assert.match(renderEvidence([result]), /\| Someone \(2020\) \| The method beats/);
  assert.match(renderEvidence([]), /^No result follows the evidence protocol yet/);
  // Claimed the other way, the same runs refute it.
  const less = {
    ...result,
    protocol: {
      ...result.protocol,
      claim: {
        ...result.protocol.claim,
        primary: { ...result.protocol.claim.primary, direction: 'less' as const },
      },
    },
  };
  assert.match(evidenceLine(less), /: refuted$/);
  // A protocol result without a renderer of its own gets the default table.
  const sections = renderResult(result);
  assert.ok(sections?.toy);
  assert.match(sections.toy, /\| method \| 5 \| 95\.00 ± 3\.16 \| 100 \| 6,400 \|/);
  assert.match(sections.toy, /commit aaaaaaaaaa; /);
  // A method card's section: the verdict first, then the claim and the verdict line.
  assert.match(
    sections['evidence-toy'],
    /^\*\*reproduced\*\* under the evidence protocol .*Someone \(2020\): The method beats the baseline\. .*\+3\.00 \[1\.04, 4\.96\]/,
  );
  // Its figure: one line per seed through both arms.
  const chart = protocolCharts(result)['toy-seeds'] as { data: { values: unknown[] } };
  assert.equal(chart.data.values.length, 10);
});

test('pairedValues pairs any number of the records by seed; intervalText prints its t-interval', () => {
  const record = (arm: string, seed: number, metric: number, loss: number) =>
    ({ arm, seed, metric, extra: { loss } }) as unknown as ProtocolResult['records'][number];
  const r = {
    ...plan(),
    records: [
      record('method', 2, 93, 0.5),
      record('baseline', 0, 90, 1),
      record('method', 0, 91, Number.NaN),
      record('baseline', 1, 91, 1),
      record('method', 1, 93, 0.25),
      record('baseline', 2, 90, 1),
      record('method', 3, 99, 0), // no baseline run for seed 3: left out
    ],
  } as unknown as ProtocolResult;
  // In seed order: 91 - 90, 93 - 91, 93 - 90.
  assert.deepEqual(pairedValues(r, 'method', 'baseline'), [1, 2, 3]);
  // Seed 0's loss difference is NaN: left out.
  const loss = (x: ProtocolResult['records'][number]) => x.extra!.loss as number;
  assert.deepEqual(pairedValues(r, 'method', 'baseline', loss), [-0.75, -0.5]);
  // 1, 2, 3: mean 2, sd 1, t(0.975, 2) = 4.303: 2 ± 4.303 / sqrt(3) = [-0.48, 4.48].
  assert.equal(intervalText([1, 2, 3]), '+2.00 [-0.48, 4.48] (3 seeds)');
  assert.equal(
    intervalText([1, 2, 3], (x) => x.toFixed(1), { signed: false, seeds: false }),
    '2.0 [-0.5, 4.5]',
  );
  assert.equal(intervalText([-1.5]), '-1.50');
  assert.equal(intervalText([]), '–');
});

test('runPending runs what is left, records each run and ends with the verdict', async () => {
  const dir = folder();
  const first = openExperiment(plan(), { smoke: false, dir, commit: A });
  first.record('baseline', 0, { metric: 90 });
  const ran: string[] = [];
  const lines: string[] = [];
  await runPending(
    openExperiment(plan(), { smoke: false, dir, commit: A }),
    async (arm, seed) => {
      ran.push(`${arm.name}/${seed}`);
      return { metric: 90 + seed + (arm.name === 'method' ? 1 + seed : 0) };
    },
    (line) => lines.push(line),
  );
  assert.equal(ran.length, 9);
  assert.ok(!ran.includes('baseline/0'));
  assert.equal(lines[0], '[2/10] method seed 0: 91 (recorded)');
  assert.match(lines.at(-1)!, /^toy: method - baseline = \+3\.00 .*: reproduced$/);
  assert.deepEqual(optionsFromArgv(['node', 'x', '--smoke', '--fresh']), {
    smoke: true,
    fresh: true,
  });
  assert.deepEqual(optionsFromArgv(['node', 'x', '--allow-dirty']), {
    smoke: false,
    allowDirty: true,
  });
});

// ---- provenance, on a throwaway repository ----------------------------------------------------

const repo = join(scratch, 'repo');
const git = (...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'ignore'],
  })
    .toString()
    .trim();

test('dirtiness ignores bench/results/, and bench:tables refuses dirty or foreign commits', () => {
  mkdirSync(join(repo, 'bench', 'results'), { recursive: true });
  git('init', '-q', '-b', 'main');
  writeFileSync(join(repo, 'code.ts'), 'one\n');
  writeFileSync(join(repo, 'bench', 'results', 'x.json'), '{}\n');
  git('add', '.');
  git('commit', '-q', '-m', 'first');
  const first = git('rev-parse', 'HEAD');
  assert.equal(gitCommit(repo), first);
  // An earlier bench rewrote its result: still clean.
  writeFileSync(join(repo, 'bench', 'results', 'x.json'), '{"rewritten": true}\n');
  assert.equal(gitCommit(repo), first);
  writeFileSync(join(repo, 'code.ts'), 'two\n');
  assert.equal(gitCommit(repo), `${first}+dirty`);
  git('commit', '-q', '-am', 'second');
  // A commit on another branch is not an ancestor of main's HEAD.
  git('checkout', '-q', '-b', 'side');
  writeFileSync(join(repo, 'code.ts'), 'three\n');
  git('commit', '-q', '-am', 'side');
  const side = git('rev-parse', 'HEAD');
  git('checkout', '-q', 'main');

  const check = (commit: string, legacy?: boolean) =>
    provenanceProblem({ name: 'x', commit, legacy }, repo);
  assert.equal(check(first), null);
  assert.match(
    check(`${first}+dirty`) ?? '',
    /^bench\/results\/x\.json: recorded on a dirty tree at [0-9a-f]{10}/,
  );
  assert.match(check(side) ?? '', /is not an ancestor of HEAD/);
  assert.match(check('c'.repeat(40)) ?? '', /is not in this clone's history/);
  assert.match(check('uncommitted') ?? '', /is not a git commit/);
  assert.equal(check(`${first}+dirty`, true), null);
  assert.equal(check(side, true), null);
});

test('perSeed computes a seed once, keeps it on disk only for a full run at a clean commit, and clear() removes it', async () => {
  const dir = folder();
  const calls: number[] = [];
  const compute = async (seed: number) => {
    calls.push(seed);
    return { seed, weights: [seed, seed / 2] };
  };
  const first = openExperiment(plan({ name: `toy-${process.pid}` }), {
    smoke: false,
    dir,
    commit: A,
  }).perSeed(compute);
  assert.ok(first.dir?.startsWith(join(tmpdir(), `anneal-toy-${process.pid}`)));
  assert.deepEqual(await first.get(3), { seed: 3, weights: [3, 1.5] });
  await first.get(3);
  assert.deepEqual(calls, [3], 'in memory: computed once');
  // A resumed run (a new process: a new experiment object) reads seed 3 back, computes seed 4.
  const again = openExperiment(plan({ name: `toy-${process.pid}` }), {
    smoke: false,
    dir,
    commit: A,
  }).perSeed(compute);
  assert.equal(again.dir, first.dir);
  assert.deepEqual(await again.get(3), { seed: 3, weights: [3, 1.5] });
  await again.get(4);
  assert.deepEqual(calls, [3, 4], 'from disk: not computed again');
  // Another commit keys another folder; clear() removes this one.
  const other = openExperiment(plan({ name: `toy-${process.pid}` }), {
    smoke: false,
    dir: folder(),
    commit: B,
  }).perSeed(compute);
  assert.notEqual(other.dir, first.dir);
  again.clear();
  const cleared = openExperiment(plan({ name: `toy-${process.pid}` }), {
    smoke: false,
    dir,
    commit: A,
  }).perSeed(compute);
  await cleared.get(3);
  assert.deepEqual(calls, [3, 4, 3], 'after clear(): computed again');
  cleared.clear();
  rmSync(join(tmpdir(), `anneal-toy-${process.pid}`), { recursive: true, force: true });
  // Smoke runs and dirty trees keep nothing on disk.
  const smoke = openExperiment(plan(), { smoke: true, dir: folder(), commit: A }).perSeed(compute);
  assert.equal(smoke.dir, null);
  const dirty = openExperiment(plan(), {
    smoke: false,
    allowDirty: true,
    dir: folder(),
    commit: `${A}+dirty`,
  }).perSeed(compute);
  assert.equal(dirty.dir, null);
});

/**
 * The schedulers on a fake objective (no training): bracket sizes against tables worked out by
 * hand, promotions against sorts done in the test, the median rule on a hand example, and a
 * throwing trial.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Asha,
  MedianStopping,
  bestTrial,
  drive,
  hyperband,
  hyperbandBrackets,
  maxBracket,
  morl,
  successiveHalving,
  type Job,
} from '../../src/search/index.js';

/** Runs a scheduler to the end on a fake objective, recording every job in order. */
async function runAll(
  scheduler: Parameters<typeof drive>[0],
  score: (job: Job) => number,
  workers = 1,
): Promise<Job[]> {
  const jobs: Job[] = [];
  await drive(
    scheduler,
    async (job) => {
      jobs.push(job);
      await new Promise((r) => setImmediate(r));
      return score(job);
    },
    { workers },
  );
  return jobs;
}

/** Jobs per (bracket, rung) with their resource. */
function tally(jobs: Job[]): Map<string, { count: number; resource: number }> {
  const m = new Map<string, { count: number; resource: number }>();
  for (const j of jobs) {
    const key = `${j.bracket}/${j.rung}`;
    const e = m.get(key) ?? { count: 0, resource: j.resource };
    e.count++;
    assert.ok(Math.abs(e.resource - j.resource) < 1e-9);
    m.set(key, e);
  }
  return m;
}

// Li et al. 2018 (JMLR), Table 1: R = 81, eta = 3. Rows (n_i, r_i) for each bracket s.
const PAPER_TABLE: Record<number, [number, number][]> = {
  4: [
    [81, 1],
    [27, 3],
    [9, 9],
    [3, 27],
    [1, 81],
  ],
  3: [
    [34, 3],
    [11, 9],
    [3, 27],
    [1, 81],
  ],
  2: [
    [15, 9],
    [5, 27],
    [1, 81],
  ],
  1: [
    [8, 27],
    [2, 81],
  ],
  0: [[5, 81]],
};

describe('Hyperband brackets', () => {
  it('match the R = 81, eta = 3 table of the Hyperband paper', () => {
    const plans = hyperbandBrackets(1, 81, 3);
    assert.equal(plans.length, 5);
    plans.forEach((plan, i) => {
      const s = 4 - i;
      const rows = PAPER_TABLE[s];
      assert.deepEqual(
        plan.n,
        rows.map(([n]) => n),
        `bracket s=${s} sizes`,
      );
      plan.r.forEach((r, k) => assert.ok(Math.abs(r - rows[k][1]) < 1e-9, `s=${s} rung ${k}`));
    });
  });

  it('s_max = floor(log_eta(R/r)) without float error, and r_i = R eta^(i-s)', () => {
    assert.equal(maxBracket(1, 81, 3), 4); // log(81)/log(3) = 3.9999999999999996 in floats
    assert.equal(maxBracket(1, 80, 3), 3);
    assert.equal(maxBracket(1, 8, 2), 3);
    assert.equal(maxBracket(2, 8, 3), 1);
    // R = 8ep, r = 1ep, eta = 3: s_max = 1; brackets s=1: n = ceil(2/2 * 3) = 3 at 8/3, 1 at 8;
    // s=0: n = ceil(2/1 * 1) = 2 at 8.
    const plans = hyperbandBrackets(1, 8, 3);
    assert.deepEqual(
      plans.map((p) => p.n),
      [[3, 1], [2]],
    );
    assert.ok(Math.abs(plans[0].r[0] - 8 / 3) < 1e-12);
    assert.equal(plans[0].r[1], 8);
    assert.equal(plans[1].r[0], 8);
  });

  it('a full Hyperband run issues exactly the table: n_i jobs at r_i per bracket', async () => {
    const jobs = await runAll(
      hyperband({ minResource: 1, maxResource: 81, eta: 3 }),
      (j) => Math.sin(j.trial * 12.9898) * 0.5 + 0.5 + j.resource / 1000,
    );
    const t = tally(jobs);
    for (const [s, rows] of Object.entries(PAPER_TABLE)) {
      rows.forEach(([n, r], k) => {
        assert.deepEqual(t.get(`${s}/${k}`), { count: n, resource: r }, `bracket ${s} rung ${k}`);
      });
    }
    assert.equal(
      jobs.length,
      [...Object.values(PAPER_TABLE)].flat().reduce((a, [n]) => a + n, 0),
    );
    // Trials of different brackets are different configurations: 81 + 34 + 15 + 8 + 5.
    assert.equal(new Set(jobs.map((j) => j.trial)).size, 143);
  });
});

describe('successive halving', () => {
  it('27 configs, r = 1, R = 27, eta = 3: 27 at 1, 9 at 3, 3 at 9, 1 at 27, each promotion continuing', async () => {
    // Fake accuracy: a fixed per-trial quality, independent of the resource.
    const quality = (trial: number) => ((trial * 7919) % 27) / 27;
    const sha = successiveHalving({ minResource: 1, maxResource: 27, eta: 3 });
    const jobs = await runAll(sha, (j) => quality(j.trial), 2);
    const t = tally(jobs);
    assert.deepEqual(t.get('3/0'), { count: 27, resource: 1 });
    assert.deepEqual(t.get('3/1'), { count: 9, resource: 3 });
    assert.deepEqual(t.get('3/2'), { count: 3, resource: 9 });
    assert.deepEqual(t.get('3/3'), { count: 1, resource: 27 });
    // Promotions continue from the previous rung's resource.
    for (const j of jobs) assert.equal(j.from, j.rung === 0 ? 0 : [0, 1, 3, 9][j.rung]);
    // The promoted trials are the top 9, then top 3, then top 1 by quality (sorted here).
    const byQuality = [...Array(27).keys()].sort((a, b) => quality(b) - quality(a));
    const at = (rung: number) =>
      jobs
        .filter((j) => j.rung === rung)
        .map((j) => j.trial)
        .sort((a, b) => a - b);
    assert.deepEqual(
      at(1),
      byQuality.slice(0, 9).sort((a, b) => a - b),
    );
    assert.deepEqual(
      at(2),
      byQuality.slice(0, 3).sort((a, b) => a - b),
    );
    assert.deepEqual(at(3), [byQuality[0]]);
    assert.equal(bestTrial(sha.trials())!.trial, byQuality[0]);
    assert.equal(
      jobs.every((j) => j.fidelity === 'truncated'),
      true,
    );
  });

  it('MORL runs the same rungs with the repeated-lr fidelity', async () => {
    const jobs = await runAll(
      morl({ minResource: 1, maxResource: 9, eta: 3 }),
      (j) => j.trial / 10,
    );
    const t = tally(jobs);
    assert.deepEqual(t.get('2/0'), { count: 9, resource: 1 });
    assert.deepEqual(t.get('2/1'), { count: 3, resource: 3 });
    assert.deepEqual(t.get('2/2'), { count: 1, resource: 9 });
    assert.equal(
      jobs.every((j) => j.fidelity === 'repeated'),
      true,
    );
  });

  it('a trial that throws is recorded failed and the search goes on', async () => {
    const sha = successiveHalving({ minResource: 1, maxResource: 9, eta: 3 });
    const jobs = await runAll(
      sha,
      (j) => {
        if (j.trial === 8) throw new Error('out of memory in trial 8');
        return j.trial / 10; // trial 8 would have been the best
      },
      2,
    );
    const trials = sha.trials();
    const eight = trials.find((t) => t.trial === 8)!;
    assert.equal(eight.status, 'failed');
    assert.equal(eight.error, 'out of memory in trial 8');
    // The rest go on: the best 3 of the 8 others (7, 6, 5) are promoted, then 7 wins.
    assert.deepEqual(
      jobs
        .filter((j) => j.rung === 1)
        .map((j) => j.trial)
        .sort(),
      [5, 6, 7],
    );
    assert.deepEqual(
      jobs.filter((j) => j.rung === 2).map((j) => j.trial),
      [7],
    );
    assert.equal(bestTrial(trials)!.trial, 7);
    assert.equal(trials.filter((t) => t.status === 'completed').length, 1);
  });

  it('a non-finite score counts as a failure', async () => {
    const sha = successiveHalving({ minResource: 1, maxResource: 3, eta: 3, configs: 3 });
    await runAll(sha, (j) => (j.trial === 0 ? NaN : j.trial));
    assert.equal(sha.trials().find((t) => t.trial === 0)!.status, 'failed');
  });
});

describe('ASHA', () => {
  it('promotes only the top floor(n/eta) of a rung, as soon as they are known', async () => {
    // eta = 3, rungs 1, 3, 9, 9 configurations, one worker (a fixed order). Scores of the trials
    // at every rung (a trial's quality, resource-independent):
    const q = [0.5, 0.9, 0.1, 0.7, 0.95, 0.2, 0.3, 0.8, 0.4];
    const asha = new Asha({ minResource: 1, maxResource: 9, eta: 3 });
    const jobs = await runAll(asha, (j) => q[j.trial]);
    // Worked by hand, one job at a time:
    // t0, t1, t2 at rung 0 -> rung 0 has 3 results, top 1 = t1 -> t1 to rung 1 (3);
    // t3, t4 -> 5 results, top 1 = t4 (0.95) -> t4 to rung 1; rung 1 has {t1, t4}: floor(2/3) = 0;
    // t5 -> 6 results, top 2 = t4, t1: both promoted already -> new t6 -> 7 results, top 2 same
    // -> t7 -> 8 results, top 2 = t4, t1 -> t8 -> 9 results, top 3 = t4, t1, t7 -> t7 to rung 1;
    // rung 1 = {t1, t4, t7}: top 1 = t4 -> t4 to rung 2 (9). Nothing else can move.
    const order = jobs.map((j) => `${j.trial}@${j.rung}`);
    assert.deepEqual(order, [
      '0@0',
      '1@0',
      '2@0',
      '1@1',
      '3@0',
      '4@0',
      '4@1',
      '5@0',
      '6@0',
      '7@0',
      '8@0',
      '7@1',
      '4@2',
    ]);
    const status = Object.fromEntries(asha.trials().map((t) => [t.trial, t.status]));
    assert.equal(status[4], 'completed');
    assert.deepEqual(
      Object.keys(status)
        .filter((k) => status[Number(k)] === 'stopped')
        .map(Number),
      [0, 1, 2, 3, 5, 6, 7, 8],
    );
  });

  it('with parallel workers every promotion is in the top 1/eta of what its rung had', async () => {
    const asha = new Asha({ minResource: 1, maxResource: 27, eta: 3, configs: 40 });
    const reported = new Map<number, { trial: number; score: number }[]>();
    const score = (trial: number) => ((trial * 2654435761) % 1000) / 1000;
    await drive(
      asha,
      async (job) => {
        if (job.rung > 0) {
          const below = reported.get(job.rung - 1) ?? [];
          const top = [...below]
            .sort((a, b) => b.score - a.score)
            .slice(0, Math.floor(below.length / 3))
            .map((e) => e.trial);
          assert.ok(top.includes(job.trial), `trial ${job.trial} promoted from outside the top`);
        }
        await new Promise((r) => setTimeout(r, (job.trial * 7) % 5));
        const s = score(job.trial);
        const list = reported.get(job.rung) ?? [];
        list.push({ trial: job.trial, score: s });
        reported.set(job.rung, list);
        return s;
      },
      { workers: 4 },
    );
    assert.equal(reported.get(0)!.length, 40);
  });
});

describe('median stopping rule', () => {
  it('stops exactly the trials whose best is below the median of the others running averages', async () => {
    // Rungs 1, 3, 9 (eta 3), five trials, one worker, minTrials 2. Scores by trial and rung:
    const scores = [
      [0.6, 0.7, 0.8], // t0
      [0.5, 0.6, 0.7], // t1
      [0.2, 0.9, 0.9], // t2
      [0.3, 0.35, 0.4], // t3
      [0.65, 0.66, 0.9], // t4
    ];
    const rule = new MedianStopping({
      minResource: 1,
      maxResource: 9,
      eta: 3,
      configs: 5,
      minTrials: 2,
    });
    const jobs = await runAll(rule, (j) => scores[j.trial][j.rung]);
    // By hand, in the order one worker runs them (continuations first):
    // t0: rungs 0,1,2 with no others -> completed.
    // t1 rung 0: others at rung 0 = {t0: 0.6}: 1 < minTrials -> continue; rung 1: {t0: avg(0.6,
    //   0.7) = 0.65}: 1 -> continue; rung 2 -> completed.
    // t2 rung 0: others {t0 0.6, t1 0.5}, median 0.55; best 0.2 < 0.55 -> STOPPED.
    // t3 rung 0: others {0.6, 0.5, 0.2}, median 0.5; best 0.3 -> STOPPED.
    // t4 rung 0: others {0.6, 0.5, 0.2, 0.3}, median 0.4; 0.65 -> go on; rung 1: others with a
    //   rung-1 score {t0 0.65, t1 0.55}, median 0.6; best 0.66 -> go on; rung 2 -> completed.
    assert.deepEqual(
      jobs.map((j) => `${j.trial}@${j.rung}`),
      ['0@0', '0@1', '0@2', '1@0', '1@1', '1@2', '2@0', '3@0', '4@0', '4@1', '4@2'],
    );
    const status = rule.trials().map((t) => t.status);
    assert.deepEqual(status, ['completed', 'completed', 'stopped', 'stopped', 'completed']);
    assert.equal(bestTrial(rule.trials())!.trial, 4);
  });

  it('uses the best score so far against running averages (a dip does not stop a trial)', () => {
    const rule = new MedianStopping({
      minResource: 1,
      maxResource: 9,
      eta: 3,
      configs: 4,
      minTrials: 3,
    });
    // Drive by hand: three trials with rung-1 running averages 0.5, 0.6, 0.7 (median 0.6).
    const feed = (rung: number, score: number) => {
      const job = rule.next();
      assert.ok(typeof job === 'object' && job.rung === rung);
      rule.report(job, { score });
      return job.trial;
    };
    for (const [a, b] of [
      [0.5, 0.5],
      [0.6, 0.6],
      [0.7, 0.7],
    ]) {
      feed(0, a);
      feed(1, b);
      feed(2, b);
    }
    // t3: 0.9 at rung 0, then 0.3 at rung 1: best so far 0.9 >= median 0.6 -> not stopped.
    const t3 = feed(0, 0.9);
    assert.equal(rule.shouldStop(t3, 0), false);
    feed(1, 0.3);
    assert.equal(rule.trials()[t3].status, 'paused');
    assert.equal(rule.shouldStop(t3, 1), false);
  });
});

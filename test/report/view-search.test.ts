/**
 * The viewer over a search (src/report/search-view.ts): a real tiny SHA search (3 trials of the
 * synthetic MLP, 1ep then 3ep, trained in this thread) is held before its last job; the viewer
 * then shows the search's section (title, chart, trials table), lists its trials with the
 * statuses search.json gives them, and once the last job finishes (search.json rewritten) it
 * tells the page and serves the finished search. A search.json that cannot be read is skipped
 * with a warning, not fatal; a search.json without the search marker is no search. A viewer on
 * the search folder itself sees the same search. Last, in chromium (where installed), the page
 * lists the search and shows its section on a click.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { launchChromium, skip } from '../chromium.js';
import { startViewer, SKIPPED_HEADER, type Viewer } from '../../src/report/server.js';
import type { SearchSummary } from '../../src/report/search-view.js';
import { openRunDir } from '../../src/runs/run-dir.js';
import type { Executor } from '../../src/runs/executor.js';
import {
  parseSpace,
  runSearch,
  runTrialJob,
  type SearchResult,
  type TrialRequest,
  type TrialResult,
} from '../../src/search/index.js';
import { root as repoRoot } from '../cli/helpers.js';
import { base } from '../search/helpers.js';
import { viewerRequest, writeRun } from './fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'anneal-view-search-'));
const runs = join(root, 'runs');
const out = join(runs, 'sweep');
const warnings: string[] = [];
let viewer: Viewer;

/** Releases the search's jobs after the first three (the first rung). */
let release!: () => void;
const gate = new Promise<void>((ok) => (release = ok));
let firstRung!: (s: SearchResult) => void;
const firstRungDone = new Promise<SearchResult>((ok) => (firstRung = ok));
let searchDone: Promise<SearchResult>;

const get = async (path: string) => {
  const r = await viewerRequest(viewer.url, path);
  assert.equal(r.status, 200, `${path}: ${r.body}`);
  return r;
};
const json = async <T>(path: string): Promise<T> => JSON.parse((await get(path)).body) as T;
const skippedOf = (r: { headers: Record<string, unknown> }) =>
  JSON.parse(decodeURIComponent(r.headers[SKIPPED_HEADER.toLowerCase()] as string)) as {
    path: string;
    reason: string;
  }[];

interface RunEntry {
  name: string;
  row: Record<string, unknown>;
  search?: string;
  trial?: number;
}

const trialName = (trial: number) => `sweep/trials/trial-${String(trial).padStart(3, '0')}`;

before(async () => {
  writeRun(join(runs, 'plain'), { steps: 6, epochSteps: 3 });
  // A search whose search.json is cut short, with one trial.
  openRunDir(join(runs, 'broken'), { command: 'search' });
  writeFileSync(join(runs, 'broken', 'search.json'), '{"version": 1, "scheduler": "sha", "tri');
  writeRun(join(runs, 'broken', 'trials', 'trial-000'), { steps: 4, epochSteps: 2, running: true });
  // A search just started: no job has finished, so no search.json yet.
  openRunDir(join(runs, 'fresh'), { command: 'search' });
  // A search.json that `anneal search` did not make (no marker): not a search.
  mkdirSync(join(runs, 'results'));
  writeFileSync(join(runs, 'results', 'search.json'), '{}');

  let started = 0;
  const executor: Executor<TrialRequest, TrialResult> = {
    run: async (req, opts) => {
      if (++started > 3) await gate;
      return runTrialJob(req, opts);
    },
    close: async () => {},
  };
  let reports = 0;
  searchDone = runSearch({
    space: parseSpace({ 'optimizer.lr': { type: 'loguniform', low: 1e-3, high: 0.1 } }),
    base,
    scheduler: 'sha',
    maxResource: '3ep',
    minResource: '1ep',
    eta: 3,
    configs: 3,
    seed: 1,
    out,
    executor,
    onUpdate: (snapshot, event) => {
      if (event.type === 'report' && ++reports === 3) firstRung(snapshot);
    },
  });
  viewer = await startViewer({
    runsDir: runs,
    port: 0,
    pollMs: 20,
    warn: (m) => warnings.push(m),
  });
});

after(async () => {
  release();
  await searchDone.catch(() => {});
  await viewer?.close();
  rmSync(root, { recursive: true, force: true });
});

test('a search held after its first rung: its section, its trials and their statuses', async () => {
  const snapshot = await firstRungDone;
  assert.equal(snapshot.trials.length, 3);
  const statuses = snapshot.trials.map((t) => t.status).sort();
  assert.deepEqual(statuses, ['promoted', 'stopped', 'stopped']);
  const best = snapshot.best!;

  const searches = await json<SearchSummary[]>('/api/searches');
  assert.deepEqual(
    searches.map((s) => s.name),
    ['fresh', 'sweep'],
  );
  const [fresh, s] = searches;
  assert.deepEqual([fresh.status, fresh.trials, fresh.best], ['running', 0, null]);
  assert.equal(fresh.title, 'Search fresh: search, running; no job has finished yet');
  assert.equal(s.scheduler, 'sha');
  assert.equal(s.status, 'running');
  assert.deepEqual([s.trials, s.done, s.failed, s.jobs], [3, 2, 0, 3]);
  assert.deepEqual(s.best, { trial: best.trial, score: best.score, run: trialName(best.trial) });
  assert.match(
    s.title,
    new RegExp(
      `^Search sweep: sha, running; 2 of 3 trials done, 0 failed; best trial ${best.trial} ` +
        `\\(validation accuracy ${(100 * best.score).toFixed(2)}%\\)$`,
    ),
  );
  assert.deepEqual(
    s.table.map((r) => [r.trial, r.status, r.rung, r['resource (ep)']]),
    snapshot.trials.map((t) => [t.trial, t.status, 0, 1]),
  );
  assert.ok(s.table.every((r) => typeof r['optimizer.lr'] === 'string'));

  // The trials are runs whose status is search.json's, not "running (k/n steps)".
  const list = await json<RunEntry[]>('/api/runs');
  assert.deepEqual(
    list.map((r) => r.name),
    ['broken/trials/trial-000', 'plain', ...snapshot.trials.map((t) => trialName(t.trial))],
  );
  for (const t of snapshot.trials) {
    const entry = list.find((r) => r.name === trialName(t.trial))!;
    assert.equal(entry.search, 'sweep');
    assert.equal(entry.trial, t.trial);
    assert.equal(entry.row.status, t.status);
    assert.equal(entry.row['validation accuracy'], t.results[0].score);
    assert.match(String(entry.row.budget), /^rung 0: 1ep, 7 steps$/);
  }
  assert.equal(list.find((r) => r.name === 'plain')!.row.status, 'done');
  assert.equal(list[0].row.status, 'unknown (search.json unreadable)');

  // The page's sections: every search, then every run; or one search; or one trial's curves.
  const all = (await json<{ html: string }>('/api/charts')).html;
  assert.ok(all.includes('<h2>Search sweep: sha, running; 2 of 3 trials done'), all.slice(0, 500));
  assert.ok(all.includes('Skipped broken/search.json'));
  assert.ok(all.indexOf('Search sweep') < all.indexOf('All runs'));
  const one = (await json<{ html: string }>('/api/charts?search=sweep')).html;
  assert.equal(one.match(/<svg /g)?.length, 1);
  assert.ok(one.includes('<th>validation accuracy</th>') && one.includes('<th>optimizer.lr</th>'));
  assert.ok(!one.includes('All runs'));
  const stopped = snapshot.trials.find((t) => t.status === 'stopped')!;
  const trial = (await json<{ html: string }>(`/api/charts?run=${trialName(stopped.trial)}`)).html;
  assert.ok(trial.includes('<td class="">stopped</td>'), trial.slice(0, 2000));
  assert.ok(/<svg /.test(trial));
  assert.equal((await viewerRequest(viewer.url, '/api/charts?search=nope')).status, 404);
  assert.match((await get('/')).body, /<ul id="searches">/);
});

test('a search.json that cannot be read is skipped and warned about once; no marker, no search', async () => {
  const first = await get('/api/searches');
  await get('/api/searches');
  assert.deepEqual(
    skippedOf(first).map((s) => s.path),
    ['broken/search.json'],
  );
  assert.match(skippedOf(first)[0].reason, /is not readable JSON/);
  const broken = warnings.filter((w) => w.includes('broken'));
  assert.equal(broken.length, 1, warnings.join('\n'));
  assert.match(broken[0], /^skipped search .*broken.search\.json: .*not readable JSON/);
  assert.ok(!warnings.some((w) => w.includes('results')));
  assert.deepEqual(
    skippedOf(await get('/api/runs')).map((s) => s.path),
    ['broken/search.json'],
  );
});

test('when the last job finishes, the page is told and the viewer serves the finished search', async () => {
  const before = (await json<{ html: string }>('/api/charts?search=sweep')).html;
  // Listen for changes, then let the held job run.
  const url = new URL(viewer.url);
  const req = request({ host: url.hostname, port: url.port, path: '/api/events' });
  let text = '';
  let connected!: () => void;
  const open = new Promise<void>((ok) => (connected = ok));
  const changed = new Promise<{ searches: string[]; runs: string[] }>((ok) => {
    req.on('response', (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        connected(); // the first chunk comes once the server has taken its fingerprints
        for (const m of text.matchAll(/event: change\ndata: (.*)\n/g)) {
          const data = JSON.parse(m[1]) as { searches: string[]; runs: string[] };
          if (data.searches.includes('sweep')) ok(data);
        }
      });
    });
  });
  req.end();
  await open;
  release();
  const final = await searchDone;
  const event = await changed;
  req.destroy();
  assert.ok(
    event.runs.every((r) => r.startsWith('sweep/')),
    JSON.stringify(event),
  );

  const completed = final.trials.find((t) => t.status === 'completed')!;
  assert.ok(completed);
  const s = (await json<SearchSummary[]>('/api/searches')).find((x) => x.name === 'sweep')!;
  assert.equal(s.status, 'finished');
  assert.deepEqual([s.trials, s.done, s.failed, s.jobs], [3, 3, 0, 4]);
  assert.equal(s.best!.trial, final.best!.trial);
  assert.match(s.title, /^Search sweep: sha, finished; 3 of 3 trials done/);
  const row = s.table.find((r) => r.trial === completed.trial)!;
  assert.deepEqual([row.status, row.rung, row['resource (ep)']], ['completed', 1, 3]);

  const list = await json<RunEntry[]>('/api/runs');
  const entry = list.find((r) => r.name === trialName(completed.trial))!;
  assert.equal(entry.row.status, 'completed');
  assert.match(String(entry.row.budget), /^rung 1: 3ep, 21 steps$/);
  const after = (await json<{ html: string }>('/api/charts?search=sweep')).html;
  assert.notEqual(after, before);
  assert.ok(after.includes('sha, finished'));
});

test('served on its own, the search folder is the search: its trials are its runs', async () => {
  await searchDone;
  const own = await startViewer({ runsDir: out, port: 0, warn: (m) => warnings.push(m) });
  try {
    const searches = JSON.parse(
      (await viewerRequest(own.url, '/api/searches')).body,
    ) as SearchSummary[];
    assert.deepEqual(
      searches.map((s) => [s.name, s.status, s.best?.run]),
      [['.', 'finished', `trials/trial-${String(searches[0].best!.trial).padStart(3, '0')}`]],
    );
    assert.match(searches[0].title, /^Search sweep: sha, finished/);
    const list = JSON.parse((await viewerRequest(own.url, '/api/runs')).body) as RunEntry[];
    assert.deepEqual(
      list.map((r) => [r.name, r.search]),
      [0, 1, 2].map((t) => [`trials/trial-00${t}`, '.']),
    );
    assert.deepEqual(list.map((r) => r.row.status).sort(), ['completed', 'stopped', 'stopped']);
  } finally {
    await own.close();
  }
});

test(
  'in chromium, the page lists the search and shows its section on a click',
  { skip },
  async () => {
    await searchDone;
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(viewer.url);
      await page.waitForSelector('#content[data-shown="*"] section svg');
      assert.deepEqual(
        await page.$$eval('#searches a', (as) => as.map((a) => a.getAttribute('data-search'))),
        ['fresh', 'sweep'],
      );
      assert.match(
        await page.$eval('#searches a[data-search="sweep"]', (a) => a.textContent!),
        /sha, finished: 3\/3/,
      );
      const statuses = await page.$$eval('#runs a[data-run^="sweep/"] .status', (d) =>
        d.map((x) => x.textContent!.split(',')[0]),
      );
      assert.deepEqual(statuses.sort(), ['completed', 'stopped', 'stopped']);
      await page.click('a[data-search="sweep"]');
      await page.waitForSelector('#content[data-shown="search=sweep"] svg');
      assert.equal(await page.$$eval('#content section', (s) => s.length), 1);
      assert.equal(await page.$$eval('#content section tbody tr', (r) => r.length), 3);
      assert.equal(await page.$eval('a.selected', (a) => a.getAttribute('data-search')), 'sweep');
      const shots = join(repoRoot, 'test-output', 'report');
      mkdirSync(shots, { recursive: true });
      await page.screenshot({ path: join(shots, 'viewer-search.png'), fullPage: true });
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
);

/**
 * In a real browser (Debian's chromium, driven headless by playwright-core): a report written
 * by `anneal report` from a tiny real training run and a hand-written run, and the `anneal view`
 * page over the same runs: charts render (SVG elements with a size), no console errors, a click
 * shows one run, a growing log redraws its charts. Screenshots go to test-output/report/.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, skip } from '../chromium.js';
import { anneal, root } from '../cli/helpers.js';
import { writeRun } from './fixtures.js';

const screenshots = join(root, 'test-output', 'report');
/** The points of the first chart (loss) in the viewer. */
const LOSS_POINTS = '#content .chart:first-child svg .mark-symbol.role-mark path';
const dir = mkdtempSync(join(tmpdir(), 'anneal-browser-'));
const runs = join(dir, 'runs');
let browser: Browser | undefined;
let viewProcess: ChildProcess | undefined;

after(async () => {
  await browser?.close();
  if (viewProcess?.pid !== undefined && viewProcess.exitCode === null) viewProcess.kill('SIGTERM');
});

/** A page that records console errors and uncaught exceptions. */
async function openPage(url: string): Promise<{ page: Page; errors: string[] }> {
  browser ??= await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  return { page, errors };
}

/** How many drawn SVG charts match `selector`: each with a non-empty box and marks in it. */
function drawnCharts(page: Page, selector: string): Promise<number> {
  return page.$$eval(
    selector,
    (svgs) =>
      svgs.filter((svg) => {
        const box = svg.getBoundingClientRect();
        return box.width > 100 && box.height > 100 && svg.querySelector('.role-mark') !== null;
      }).length,
  );
}

test('a report from `anneal report` renders its charts in chromium', { skip }, async () => {
  mkdirSync(screenshots, { recursive: true });
  const trained = anneal([
    'train',
    ...['--data', 'mnist', '--limit', '256', '--test-limit', '100', '--model', 'mlp'],
    ...[
      '--epochs',
      '3',
      '--batch-size',
      '32',
      '--log-every',
      '2',
      '--schedule',
      'cosine',
      '--lr',
      '0.003',
    ],
    ...['--out', join(runs, 'mlp-cosine'), '--no-progress'],
  ]);
  assert.equal(trained.code, 0, trained.stderr);
  writeRun(join(runs, 'written'), { steps: 24, epochSteps: 8, lr: (s) => 0.003 * (1 - s / 24) });
  const out = join(dir, 'report.html');
  const r = anneal(['report', runs, '--out', out]);
  assert.equal(r.code, 0, r.stderr);

  const { page, errors } = await openPage(pathToFileURL(out).href);
  assert.equal(await drawnCharts(page, '.chart svg'), 4);
  assert.equal(await page.$$eval('table.summary tbody tr', (rows) => rows.length), 2);
  await page.screenshot({ path: join(screenshots, 'report.png'), fullPage: true });
  assert.deepEqual(errors, []);
});

test(
  'the `anneal view` page lists runs, shows one on click, and redraws as its log grows',
  { skip },
  async () => {
    assert.ok(existsSync(join(runs, 'written')), 'the report test made the runs');
    viewProcess = spawn(
      process.execPath,
      ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'view', runs, '--port', '0'],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const url = await new Promise<string>((ok, fail) => {
      let out = '';
      viewProcess!.stdout!.on('data', (c) => {
        out += c;
        const m = /anneal view: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m) ok(m[1]);
      });
      viewProcess!.on('exit', (code) => fail(new Error(`anneal view exited ${code}: ${out}`)));
    });

    const { page, errors } = await openPage(url);
    await page.waitForSelector('#content[data-shown="*"] svg');
    assert.deepEqual(
      await page.$$eval('#runs a', (as) => as.map((a) => a.getAttribute('data-run'))),
      ['', 'mlp-cosine', 'written'],
    );
    assert.equal(await drawnCharts(page, '#content svg'), 4);

    await page.click('a[data-run="written"]');
    await page.waitForSelector('#content[data-shown="written"] svg');
    assert.equal(await drawnCharts(page, '#content svg'), 4);
    assert.equal(await page.$$eval('#content table.summary tbody tr', (rows) => rows.length), 1);
    assert.equal(await page.$eval('a.selected', (a) => a.getAttribute('data-run')), 'written');

    // The run goes on: 6 more steps in its log. The page is told and redraws the loss chart
    // (one point per batch loss and per eval loss of the run).
    const points = () => page.$$eval(LOSS_POINTS, (p) => p.length);
    const before = await points();
    for (let step = 25; step <= 30; step++) {
      appendFileSync(
        join(runs, 'written', 'log.jsonl'),
        JSON.stringify({
          event: 'batch_end',
          step,
          trainSeconds: step / 10,
          lr: 0.001,
          loss: 0.05,
          samplesPerSecond: 320,
        }) + '\n',
      );
    }
    // (A string: it runs in the page, where `document` is; this file is compiled without DOM types.)
    await page.waitForFunction(
      `document.querySelectorAll('${LOSS_POINTS}').length === ${before + 6}`,
      null,
      {
        timeout: 15_000,
      },
    );
    await page.screenshot({ path: join(screenshots, 'viewer.png'), fullPage: true });
    assert.deepEqual(errors, []);
  },
);

test('the report npm start writes (tradeoff curves) renders in chromium', { skip }, async () => {
  mkdirSync(screenshots, { recursive: true });
  const start: string = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.start;
  const out = join(dir, 'start');
  // npm start's own settings on 640 training and 200 test samples (test/cli checks its files).
  const r = anneal([
    ...start.replace('node dist/src/cli/main.js ', '').split(' '),
    ...['--limit', '640', '--test-limit', '200', '--out', out, '--no-progress'],
  ]);
  assert.equal(r.code, 0, r.stderr);

  const { page, errors } = await openPage(pathToFileURL(join(out, 'report.html')).href);
  // Accuracy vs. time and vs. epochs, the learning rates, single run vs. separate runs.
  assert.equal(await drawnCharts(page, '.chart svg'), 4);
  // One summary row per recipe: baseline, label smoothing, mixup.
  assert.equal(await page.$$eval('table.summary tbody tr', (rows) => rows.length), 3);
  // The tradeoff chart: a curve per recipe, 3 recipes x 4 cycle ends, each end a symbol.
  const points = await page.$$eval('.chart:first-child svg .points_marks path', (p) => p.length);
  assert.equal(points, 12);
  await page.screenshot({ path: join(screenshots, 'curve-report.png'), fullPage: true });
  assert.deepEqual(errors, []);
});

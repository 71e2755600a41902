/**
 * The HTML report: self-contained (nothing to fetch), text escaped, the data recoverable from
 * its JSON block even when it holds '</script>', written atomically.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { renderSvg, scheduleChart } from '../../src/report/charts.js';
import { renderHtmlReport, writeHtmlReport, type HtmlReport } from '../../src/report/html.js';

async function sample(): Promise<HtmlReport> {
  const svg = await renderSvg(scheduleChart([0, 1, 2].map((step) => ({ step, value: step }))));
  return {
    title: 'Runs <b>&</b> more',
    summary: [
      { run: 'a', accuracy: 0.9812, steps: 100 },
      { run: 'b<script>', 'samples per second': 1234.5 },
    ],
    sections: [
      { title: 'Charts', text: 'first paragraph\n\nsecond <i>one</i>', svg: [svg, svg] },
      { title: 'Table only', table: [{ x: 1, y: 'two' }] },
    ],
    data: { note: 'ends </script><!-- here', values: [1, 2.5, null] },
  };
}

test('the report is one self-contained page: inline SVG, escaped text, every column', async () => {
  const report = await sample();
  const html = renderHtmlReport(report);
  assert.match(html, /^<!doctype html>/);
  assert.ok(html.includes('<title>Runs &lt;b&gt;&amp;&lt;/b&gt; more</title>'));
  assert.equal(html.match(/<svg /g)!.length, 2);
  assert.equal((html.match(/<section/g) ?? []).length, 2);
  assert.equal((html.match(/<p>/g) ?? []).length, 2);
  assert.ok(html.includes('second &lt;i&gt;one&lt;/i&gt;'));
  assert.ok(!html.includes('b<script>'));
  // The summary has the union of the rows' keys as columns, in first-seen order.
  const header = /<table class="table summary"><thead><tr>(.*?)<\/tr>/.exec(html)![1];
  assert.deepEqual(
    [...header.matchAll(/<th>(.*?)<\/th>/g)].map((m) => m[1]),
    ['run', 'accuracy', 'steps', 'samples per second'],
  );
  // Nothing is loaded from elsewhere: no src attributes, no links or imports over the network.
  assert.doesNotMatch(html, /\ssrc=/);
  assert.doesNotMatch(html, /(href|url)\s*[=(]\s*["']?(https?:)?\/\//i);
  assert.doesNotMatch(html, /@import/);
});

test('the data block parses back to the data, even with </script> inside', async () => {
  const report = await sample();
  const html = renderHtmlReport(report);
  const blocks = [
    ...html.matchAll(/<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/g),
  ];
  assert.equal(blocks.length, 1);
  assert.deepEqual(JSON.parse(blocks[0][1]), report.data);
});

test('writeHtmlReport writes the file atomically (no temp file left) and returns its path', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'anneal-html-'));
  const path = join(dir, 'report.html');
  const report = await sample();
  assert.equal(writeHtmlReport(path, report), path);
  assert.deepEqual(readdirSync(dir), ['report.html']);
  assert.equal(readFileSync(path, 'utf8'), renderHtmlReport(report));
});

test('numbers are for people: seconds to 0.1, accuracy in percent to 0.01, points signed', () => {
  const html = renderHtmlReport({
    title: 't',
    summary: [
      {
        run: 'a',
        'train time (s)': 39.2,
        'eval time (s)': 40,
        accuracy: 0.98123,
        'baseline accuracy': 0.5,
        'difference (points)': 0.0052,
        'standard deviation (points)': 0.0125,
        'samples per second': 1234.5,
        steps: 12000,
        epochs: 0.125,
        'time ratio': 1.83333,
      },
      { run: 'b', 'difference (points)': -0.0125, accuracy: 1 },
    ],
    sections: [],
  });
  const cells = [...html.matchAll(/<td class="[a-z]*">(.*?)<\/td>/g)].map((m) => m[1]);
  // Worked out by hand: 39.2 s; 40 s; 98.123%; 50%; +0.52 points; 1.25 points; 1234.5 rounds up.
  assert.deepEqual(cells.slice(0, 11), [
    'a',
    '39.2',
    '40.0',
    '98.12%',
    '50.00%',
    '+0.52',
    '1.25',
    '1,235',
    '12,000',
    '0.125',
    '1.833',
  ]);
  // Row b: run, then blanks for the columns it lacks, its difference and accuracy.
  assert.deepEqual(
    cells.slice(11).filter((c) => c !== ''),
    ['b', '100.00%', '-1.25'],
  );
  // The raw numbers stay in the data: no heading in the table is an identifier.
  assert.doesNotMatch(html, /<th>[a-z]+_[a-z]+<\/th>/);
});

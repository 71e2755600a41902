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
      { run: 'b<script>', 'samples/s': 1234.5 },
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
    ['run', 'accuracy', 'steps', 'samples/s'],
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

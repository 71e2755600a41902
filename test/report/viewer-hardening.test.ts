/**
 * The viewer under two attacks on its availability and its privacy: one run with a corrupt
 * summary.json is skipped and reported (the other runs still list and draw, where it used to
 * make /api/runs answer 500 for all), and a request whose Host is not a loopback name (a page
 * reaching the viewer through DNS rebinding) is refused before it can read anything.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  isAllowedHost,
  SKIPPED_HEADER,
  startViewer,
  type SkippedRun,
  type Viewer,
} from '../../src/report/server.js';
import { viewerRequest, writeRun } from './fixtures.js';

const runs = mkdtempSync(join(tmpdir(), 'anneal-view-hard-'));
const warnings: string[] = [];
let viewer: Viewer;

/** A GET to the viewer (or `to`) with the Host header set to `host` (default: as in its URL). */
const get = (path: string, host?: string, to: Viewer = viewer) =>
  viewerRequest(to.url, path, { host });

const port = () => new URL(viewer.url).port;

before(async () => {
  writeRun(join(runs, 'good'), { steps: 6, epochSteps: 3 });
  writeRun(join(runs, 'broken'), { steps: 6, epochSteps: 3 });
  writeFileSync(join(runs, 'broken', 'summary.json'), '{"steps": 6, "test": {"accur');
  viewer = await startViewer({
    runsDir: runs,
    port: 0,
    pollMs: 50,
    warn: (m) => warnings.push(m),
  });
});

after(() => viewer.close());

test('a run with a corrupt summary.json is skipped and reported; the others still list', async () => {
  const r = await get('/api/runs');
  assert.equal(r.status, 200, r.body);
  const list = JSON.parse(r.body) as { name: string; row: { status: string } }[];
  assert.deepEqual(
    list.map((x) => x.name),
    ['good'],
  );
  assert.equal(list[0].row.status, 'done');
  const skipped = JSON.parse(
    decodeURIComponent(r.headers[SKIPPED_HEADER.toLowerCase()] as string),
  ) as SkippedRun[];
  assert.equal(skipped.length, 1);
  assert.equal(skipped[0].path, 'broken');
  assert.match(skipped[0].reason, /broken.summary\.json is not readable JSON/);
  assert.ok(!skipped[0].reason.includes('\n'));

  // Warned once on the server's side, not once per request.
  await get('/api/runs');
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(warnings[0], /^skipped run .*broken: .*summary\.json is not readable JSON/);
});

test('the charts of all runs draw the good ones and note the skipped one', async () => {
  const all = await get('/api/charts');
  assert.equal(all.status, 200, all.body);
  const html = JSON.parse(all.body).html as string;
  assert.match(html, /<p class="skipped">Skipped broken: .*summary\.json is not readable JSON/);
  assert.ok(html.includes('<svg '), 'the good run is drawn');
  const one = await get('/api/charts?run=broken');
  assert.equal(one.status, 200, one.body);
  assert.match(JSON.parse(one.body).html as string, /Skipped broken/);
  // The page reads the header to show the skipped run in its list.
  assert.ok((await get('/')).body.includes(SKIPPED_HEADER));
});

test('a Host that is not a loopback name is refused with 403 before anything is read', async () => {
  for (const host of [
    'evil.example',
    `evil.example:${port()}`,
    `localhost.evil.example:${port()}`,
    `127.0.0.1.evil.example:${port()}`,
    `10.0.0.7:${port()}`,
  ]) {
    for (const path of ['/files/good/summary.json', '/api/runs', '/']) {
      const r = await get(path, host);
      assert.equal(r.status, 403, `${host} ${path}`);
      assert.match(r.body, /^forbidden: .*loopback/);
      assert.ok(!r.body.includes('"steps"'), 'nothing of the runs is sent');
    }
  }
});

test('localhost, 127.0.0.1 and [::1], with or without a port, are answered', async () => {
  for (const host of [
    `localhost:${port()}`,
    'localhost',
    `LOCALHOST:${port()}`,
    `127.0.0.1:${port()}`,
    `[::1]:${port()}`,
  ]) {
    const r = await get('/files/good/summary.json', host);
    assert.equal(r.status, 200, host);
    assert.equal(JSON.parse(r.body).steps, 6);
  }
});

/** A request written as it is onto a socket, and the whole reply. */
function raw(text: string): Promise<string> {
  return new Promise<string>((ok, fail) => {
    const socket = connect(Number(port()), '127.0.0.1', () => socket.write(text));
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('data', (c) => (reply += c));
    socket.on('end', () => ok(reply));
    socket.on('error', fail);
  });
}

test('a request with no Host (HTTP/1.0) or an empty one is refused', async () => {
  const none = await raw('GET /files/good/summary.json HTTP/1.0\r\n\r\n');
  assert.match(none, /^HTTP\/1\.[01] 403 /);
  const empty = await raw(
    'GET /files/good/summary.json HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n',
  );
  assert.match(empty, /^HTTP\/1\.1 (403|400) /);
  assert.ok(!empty.includes('"steps"'));
});

test('bound to another address (--host), the viewer is also answered by IP address', async () => {
  assert.equal(isAllowedHost('192.168.1.20:6006', '127.0.0.1'), false);
  assert.equal(isAllowedHost('192.168.1.20:6006', '0.0.0.0'), true);
  assert.equal(isAllowedHost('[fe80::1]:6006', '::'), true);
  assert.equal(isAllowedHost('evil.example:6006', '0.0.0.0'), false);
  assert.equal(isAllowedHost(undefined, '0.0.0.0'), false);
  const open = await startViewer({ runsDir: runs, port: 0, host: '0.0.0.0', warn: () => {} });
  try {
    const byAddress = await get('/files/good/summary.json', '192.168.1.20', open);
    assert.equal(byAddress.status, 200);
    const byName = await get('/files/good/summary.json', 'evil.example', open);
    assert.equal(byName.status, 403);
  } finally {
    await open.close();
  }
});

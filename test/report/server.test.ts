/**
 * The viewer's server over real HTTP: it serves files under the runs folder and nothing else
 * (every spelling of ../ tried here, encoded or not, and a symlink out, get 404), is read-only,
 * binds loopback by default, lists runs, draws their charts, and tells the page when a log grows.
 */
import assert from 'node:assert/strict';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startViewer, type Viewer } from '../../src/report/server.js';
import { viewerRequest, writeRun } from './fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'anneal-view-'));
const runs = join(root, 'runs');
const SECRET = 'top secret: outside the runs folder';
let viewer: Viewer;

/** A request with the path sent exactly as written. */
const get = (path: string, method = 'GET') => viewerRequest(viewer.url, path, { method });

before(async () => {
  writeRun(join(runs, 'a'), { steps: 6, epochSteps: 3 });
  writeRun(join(runs, 'group', 'b'), { steps: 4, epochSteps: 2, running: true });
  writeFileSync(join(root, 'secret.txt'), SECRET);
  writeFileSync(join(runs, '.hidden'), SECRET);
  symlinkSync(join(root, 'secret.txt'), join(runs, 'a', 'link-out.txt'));
  mkdirSync(join(runs, 'a', 'sub'));
  symlinkSync(root, join(runs, 'a', 'sub', 'up'));
  viewer = await startViewer({ runsDir: runs, port: 0, pollMs: 50 });
});

after(() => viewer.close());

test('binds 127.0.0.1 unless told otherwise', () => {
  assert.match(viewer.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
});

test('serves a file under the runs folder as it is', async () => {
  const r = await get('/files/a/log.jsonl');
  assert.equal(r.status, 200);
  assert.equal(r.body, readFileSync(join(runs, 'a', 'log.jsonl'), 'utf8'));
  const nested = await get('/files/group/b/config.json');
  assert.equal(nested.status, 200);
  assert.equal(nested.headers['content-type'], 'application/json; charset=utf-8');
});

test('../ in any spelling, absolute paths, hidden files, directories and symlinks out get 404', async () => {
  const attempts = [
    '/files/../secret.txt',
    '/files/a/../../secret.txt',
    '/files/%2e%2e/secret.txt',
    '/files/%2E%2E/secret.txt',
    '/files/..%2fsecret.txt',
    '/files/%2e%2e%2fsecret.txt',
    '/files/a/%2e%2e%2f%2e%2e%2fsecret.txt',
    '/files/a/..%5c..%5csecret.txt',
    '/files/%252e%252e/secret.txt',
    '/files/.%2e/secret.txt',
    '/files//secret.txt',
    `/files/${encodeURIComponent(join(root, 'secret.txt'))}`,
    `/files${join(root, 'secret.txt')}`,
    '/files/a/link-out.txt',
    '/files/a/sub/up/secret.txt',
    '/files/.hidden',
    '/files/a',
    '/files/a/',
    '/files/a/log.jsonl%00.txt',
    '/files/%ff',
    '/../secret.txt',
    '/api/charts?run=../secret.txt',
    '/api/charts?run=..%2Fsecret.txt',
  ];
  for (const path of attempts) {
    const r = await get(path);
    assert.equal(r.status, 404, `${path} -> ${r.status}`);
    assert.ok(!r.body.includes(SECRET), path);
  }
});

test('read-only: anything but GET and HEAD is refused', async () => {
  for (const method of ['POST', 'PUT', 'DELETE']) {
    assert.equal((await get('/files/a/log.jsonl', method)).status, 405);
  }
  const head = await get('/files/a/log.jsonl', 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
});

test('lists the runs and draws the charts of one or all', async () => {
  const list = JSON.parse((await get('/api/runs')).body) as {
    name: string;
    row: { status: string };
  }[];
  assert.deepEqual(
    list.map((r) => r.name),
    ['a', 'group/b'],
  );
  assert.equal(list[0].row.status, 'done');
  assert.equal(list[1].row.status, 'running (4/4 steps)');
  const one = JSON.parse((await get('/api/charts?run=group%2Fb')).body).html as string;
  assert.equal(one.match(/<svg /g)!.length, 4);
  const all = JSON.parse((await get('/api/charts')).body).html as string;
  assert.ok(all.includes('All runs') && all.includes('>group/b<'));
  const page = await get('/');
  assert.equal(page.status, 200);
  assert.match(page.body, /<ul id="runs">/);
});

test('server-sent events say which run changed when its log grows', async () => {
  const url = new URL(viewer.url);
  const events: string[] = [];
  const req = request({ host: url.hostname, port: url.port, path: '/api/events' });
  const changed = new Promise<string>((ok) => {
    req.on('response', (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        events.push(chunk);
        const m = /event: change\ndata: (.*)\n/.exec(events.join(''));
        if (m) ok(m[1]);
      });
    });
  });
  req.end();
  await new Promise((r) => setTimeout(r, 200)); // connected, sizes seen
  appendFileSync(
    join(runs, 'group', 'b', 'log.jsonl'),
    JSON.stringify({ event: 'batch_end', step: 5, loss: 0.1 }) + '\n',
  );
  const data = JSON.parse(await changed);
  assert.deepEqual(data.runs, ['group/b']);
  req.destroy();
});

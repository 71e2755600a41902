/**
 * Temp files of atomic writes: a failed rename removes its temp file, and the temp files a
 * killed writer left are removed only once that writer's PID is dead (a live writer's, and
 * anything else, are kept), by the checkpoint store's first save.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  isProcessAlive,
  removeStaleTempFiles,
  tempFileName,
  writeFileAtomic,
} from '../../src/train/atomic.js';
import { CheckpointStore } from '../../src/train/checkpoint.js';

let deadPid: number;
let running: ChildProcess;

before(async () => {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  deadPid = child.pid!;
  await new Promise((ok) => child.once('exit', ok));
  running = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
  await new Promise((ok) => running.once('spawn', ok));
});

after(() => {
  running.kill('SIGKILL');
});

const ls = (dir: string) => readdirSync(dir).sort();

test('isProcessAlive: our PID and a running child are alive, an exited child is not', () => {
  assert.equal(isProcessAlive(process.pid), true);
  assert.equal(isProcessAlive(running.pid!), true);
  assert.equal(isProcessAlive(deadPid), false);
  // Not a plain PID (0 would signal our process group): counted alive, so its file is kept.
  for (const pid of [0, -1, NaN, 2 ** 40]) assert.equal(isProcessAlive(pid), true, `${pid}`);
});

test("removeStaleTempFiles removes dead writers' temp files and keeps live ones and others", () => {
  const dir = mkdtempSync(join(tmpdir(), 'anneal-tmp-'));
  const dead = [tempFileName('a.json', deadPid), tempFileName('checkpoint-3.ck', deadPid)];
  const kept = [
    tempFileName('b.json', process.pid),
    tempFileName('c.json', running.pid!),
    tempFileName('d.json', 0),
    '.e.json.tmp',
    '.f.json.12ab.tmp',
    `g.json.${deadPid}.tmp`,
    'notes.txt',
    `.h.${deadPid}.tmp.bak`,
  ];
  for (const name of [...dead, ...kept]) writeFileSync(join(dir, name), 'x');
  assert.deepEqual(removeStaleTempFiles(dir).sort(), dead.sort());
  assert.deepEqual(ls(dir), kept.sort());
  assert.deepEqual(removeStaleTempFiles(join(dir, 'missing')), []);
});

test("a checkpoint store's first save removes only its own dead temp files", () => {
  const dir = mkdtempSync(join(tmpdir(), 'anneal-store-tmp-'));
  const stale = [tempFileName('checkpoint-4.ck', deadPid), tempFileName('latest', deadPid)];
  const kept = [
    tempFileName('checkpoint-5.ck', running.pid!), // another writer, still at work
    tempFileName('notes.txt', deadPid), // not the store's
    'notes.txt',
  ];
  for (const name of [...stale, ...kept]) writeFileSync(join(dir, name), 'x');
  const store = new CheckpointStore(dir, 2);
  assert.deepEqual(ls(dir), [...stale, ...kept].sort(), 'constructing the store deletes nothing');
  store.save(6, { tensors: [{ name: 'w', shape: [1], data: Float32Array.of(1) }], meta: {} });
  assert.deepEqual(ls(dir), [...kept, 'checkpoint-6.ck', 'latest'].sort());
});

test("a store's latest() is the checkpoint `latest` names, not the newest file", () => {
  const dir = mkdtempSync(join(tmpdir(), 'anneal-store-latest-'));
  const store = new CheckpointStore(dir, 3);
  assert.equal(store.latest(), undefined);
  const contents = { tensors: [{ name: 'w', shape: [1], data: Float32Array.of(1) }], meta: {} };
  store.save(2, contents);
  store.save(4, contents);
  // A writer killed between checkpoint-6.ck and the pointer's switch leaves this.
  writeFileSync(join(dir, 'checkpoint-6.ck'), readFileSync(join(dir, 'checkpoint-4.ck')));
  assert.deepEqual(
    store.list().map((c) => c.step),
    [2, 4, 6],
  );
  assert.deepEqual(store.latest(), { name: 'checkpoint-4.ck', step: 4 });
});

test('writeFileAtomic onto a directory throws and leaves no temp file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'anneal-atomic-'));
  const target = join(dir, 'out');
  mkdirSync(target);
  writeFileSync(join(target, 'inside.txt'), 'kept');
  assert.throws(() => writeFileAtomic(target, new Uint8Array(1 << 16)), /EISDIR|ENOTEMPTY|EEXIST/);
  assert.deepEqual(ls(dir), ['out']);
  assert.deepEqual(ls(target), ['inside.txt']);
  // And an ordinary write still leaves just the file.
  writeFileAtomic(join(dir, 'file.txt'), 'hello');
  assert.deepEqual(ls(dir), ['file.txt', 'out']);
});

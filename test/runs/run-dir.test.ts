/**
 * Run directories are marked by the command that made them, and `--overwrite` replaces only a
 * directory its own command marked: nothing else is ever deleted.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openRunDir, readRunMarker, RUN_MARKER } from '../../src/runs/run-dir.js';
import { isAnnealError } from '../../src/errors.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'anneal-rundir-'));

function refusedWith(fragment: string) {
  return (e: unknown) => {
    assert.ok(isAnnealError(e), String(e));
    assert.ok((e as Error).message.includes(fragment), (e as Error).message);
    return true;
  };
}

test('a new run directory carries a marker naming its command', () => {
  const out = join(fresh(), 'run');
  openRunDir(out, { command: 'curve' });
  assert.equal(readRunMarker(out)?.command, 'curve');
  assert.ok(!Number.isNaN(Date.parse(readRunMarker(out)!.created)));
});

test('--overwrite refuses a folder anneal did not mark, and leaves it as it was', () => {
  const out = fresh();
  mkdirSync(join(out, 'src'));
  writeFileSync(join(out, 'src', 'main.c'), 'x');
  assert.throws(
    () => openRunDir(out, { command: 'train', overwrite: true }),
    refusedWith(`no ${RUN_MARKER}`),
  );
  assert.equal(readFileSync(join(out, 'src', 'main.c'), 'utf8'), 'x');
});

test("--overwrite refuses another command's directory", () => {
  const out = join(fresh(), 'run');
  openRunDir(out, { command: 'search' });
  writeFileSync(join(out, 'search.json'), '{}');
  assert.throws(
    () => openRunDir(out, { command: 'train', overwrite: true }),
    refusedWith('made by `anneal search`'),
  );
  assert.ok(existsSync(join(out, 'search.json')));
});

test('--overwrite replaces a directory its own command made', () => {
  const out = join(fresh(), 'run');
  openRunDir(out, { command: 'train' });
  writeFileSync(join(out, 'summary.json'), '{}');
  openRunDir(out, { command: 'train', overwrite: true });
  assert.ok(!existsSync(join(out, 'summary.json')));
  assert.equal(readRunMarker(out)?.command, 'train');
});

test('without --overwrite a non-empty directory is refused; a file is never an --out', () => {
  const out = join(fresh(), 'run');
  openRunDir(out, { command: 'prune' });
  assert.throws(() => openRunDir(out, { command: 'prune' }), refusedWith('--overwrite'));
  const file = join(fresh(), 'file');
  writeFileSync(file, 'x');
  assert.throws(
    () => openRunDir(file, { command: 'train', overwrite: true }),
    refusedWith('is a file'),
  );
  assert.equal(readFileSync(file, 'utf8'), 'x');
});

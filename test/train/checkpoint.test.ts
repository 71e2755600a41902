import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { packageRoot } from '../../src/package-root.js';
import { encodeCheckpoint, loadCheckpoint, saveCheckpoint } from '../../src/train/checkpoint.js';

const tensors = [
  { name: 'dense/kernel', shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, -0, 1e-40]) },
  { name: 'dense/bias', shape: [3], data: Float32Array.from([NaN, Infinity, -7]) },
];

test('a checkpoint round-trips names, shapes, values (NaN, -0, subnormals) and meta', () => {
  const dir = mkdtempSync(join(tmpdir(), 'anneal-ck-'));
  const path = join(dir, 'a.ck');
  saveCheckpoint(path, { tensors, meta: { step: 7, model: 'mlp' } });
  const back = loadCheckpoint(path);
  assert.deepEqual(back.meta, { step: 7, model: 'mlp' });
  assert.deepEqual(
    back.tensors.map((t) => [t.name, t.shape]),
    tensors.map((t) => [t.name, t.shape]),
  );
  for (let i = 0; i < tensors.length; i++) {
    assert.deepEqual(Array.from(back.tensors[i].data), Array.from(tensors[i].data));
  }
  assert.ok(Object.is(back.tensors[0].data[4], -0));
  assert.deepEqual(readdirSync(dir), ['a.ck'], 'no temp file is left behind');
  // Layout check derived from the format: 12 + header, padded to 4, then 9 floats.
  const bytes = readFileSync(path);
  const headerLength = bytes.readUInt32LE(8);
  assert.equal(bytes.length, ((12 + headerLength + 3) & ~3) + 9 * 4);
});

test('corrupt or missing checkpoints give a clear error naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'anneal-ck-'));
  const good = encodeCheckpoint({ tensors, meta: {} });
  const cases: [string, Uint8Array, RegExp][] = [
    ['magic.ck', Buffer.from('NOTACKPT0000'), /bad magic/],
    ['short.ck', good.subarray(0, good.length - 4), /truncated data/],
    ['header.ck', good.subarray(0, 20), /truncated header/],
  ];
  for (const [name, bytes, why] of cases) {
    writeFileSync(join(dir, name), bytes);
    assert.throws(
      () => loadCheckpoint(join(dir, name)),
      (e: Error & { code?: string }) =>
        e.code === 'ANNEAL_CHECKPOINT_CORRUPT' &&
        e.message.includes(join(dir, name)) &&
        why.test(e.message),
    );
  }
  assert.throws(
    () => loadCheckpoint(join(dir, 'missing.ck')),
    /ANNEAL|cannot read checkpoint .*missing\.ck/,
  );
  assert.throws(
    () =>
      encodeCheckpoint({
        tensors: [{ name: 'w', shape: [2, 2], data: new Float32Array(3) }],
        meta: {},
      }),
    /'w' has 3 values but shape \[2,2\] needs 4/,
  );
});

test('a checkpoint being rewritten survives a kill: the file is always the old or the new one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'anneal-kill-'));
  const path = join(dir, 'run.ck');
  const n = 1 << 20; // 4 MiB per write, so a kill lands mid-write often
  const writer = `
    import { saveCheckpoint } from ${JSON.stringify(join(packageRoot(), 'src/train/checkpoint.ts'))};
    for (let version = 0; ; version++) {
      saveCheckpoint(${JSON.stringify(path)}, {
        tensors: [{ name: 'w', shape: [${n}], data: new Float32Array(${n}).fill(version) }],
        meta: { version },
      });
      if (version === 0) process.stdout.write('ready\\n');
    }`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', writer], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  await new Promise((r) => setTimeout(r, 150));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const back = loadCheckpoint(path);
  const version = back.meta.version as number;
  assert.ok(Number.isInteger(version) && version >= 0);
  const data = back.tensors[0].data;
  assert.equal(data.length, n);
  assert.ok(
    data.every((v) => v === version),
    'every value belongs to the same write',
  );
});

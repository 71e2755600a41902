/** Helpers shared by the data tests. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { AnnealError } from '../../src/errors.js';

/** A fresh temporary directory, removed when the test file finishes. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `anneal-${prefix}-`));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Checks fn throws an AnnealError with `code` whose message contains each of `parts`. */
export function assertAnnealError(fn: () => unknown, code: string, parts: string[]): void {
  assert.throws(fn, (e: unknown) => checkError(e, code, parts));
}

export async function assertRejectsAnneal(
  fn: () => Promise<unknown>,
  code: string,
  parts: string[],
): Promise<void> {
  await assert.rejects(fn, (e: unknown) => checkError(e, code, parts));
}

function checkError(e: unknown, code: string, parts: string[]): true {
  assert.ok(e instanceof AnnealError, `expected an AnnealError, got ${e}`);
  assert.equal(e.code, code, e.message);
  for (const part of parts)
    assert.ok(e.message.includes(part), `message lacks "${part}": ${e.message}`);
  return true;
}

/** IDX bytes built by hand from the format description: 0, 0, type, ndims, BE dims, BE data. */
export function idxBytes(typeCode: number, dims: number[], body: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = typeCode;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, body]);
}

/**
 * Append-only JSON Lines log: one record per line, flushed with each write so a killed run
 * keeps every line written before the kill (a reader skips a torn last line).
 */
import { appendFileSync, readFileSync } from 'node:fs';

export class JsonlLog {
  constructor(readonly path: string) {}

  write(record: Record<string, unknown>): void {
    appendFileSync(this.path, JSON.stringify({ time: new Date().toISOString(), ...record }) + '\n');
  }
}

/** Reads a JSONL file, skipping a torn final line left by a kill. */
export function readJsonl(path: string): Record<string, unknown>[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const records: Record<string, unknown>[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] === '') continue;
    try {
      records.push(JSON.parse(lines[i]));
    } catch (e) {
      if (i < lines.length - 1 && lines.slice(i + 1).some((l) => l !== '')) throw e;
    }
  }
  return records;
}

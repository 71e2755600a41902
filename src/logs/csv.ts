/**
 * CSV metrics: one row per epoch end and per evaluation, for spreadsheets and plotting. The file
 * is rewritten atomically with every row (a few hundred rows at most), so it is always complete
 * and gains a column when a new metric appears. A resumed run keeps the rows up to its
 * checkpoint's step and drops those it will redo.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../train/atomic.js';
import type { Callback } from '../train/method.js';
import type { TrainState } from '../train/state.js';
import { trainingMetrics } from './jsonl.js';

type Cell = string | number;
type Row = Record<string, Cell>;

const BASE_COLUMNS = ['event', 'epoch', 'step', 'samples', 'trainSeconds', 'evalSeconds', 'lr'];

export function csvField(value: Cell | undefined): string {
  if (value === undefined) return '';
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Splits one CSV line (RFC 4180 quoting, no newlines inside fields). */
export function parseCsvLine(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else field += c;
  }
  fields.push(field);
  return fields;
}

/** Reads a CSV written by CsvLogger: numbers as numbers, empty cells left out. */
export function readCsv(path: string): Row[] {
  const [header, ...lines] = readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  if (header === undefined) return [];
  const columns = parseCsvLine(header);
  return lines.map((line) => {
    const row: Row = {};
    parseCsvLine(line).forEach((text, i) => {
      if (text === '') return;
      const n = Number(text);
      row[columns[i]] = text === 'NaN' || !Number.isNaN(n) ? n : text;
    });
    return row;
  });
}

export class CsvLogger implements Callback {
  private rows: Row[] = [];
  private columns = [...BASE_COLUMNS];

  constructor(readonly path: string) {}

  onFitStart(state: TrainState): void {
    // Rows past the current step belong to steps a resumed run redoes.
    const step = state.timestamp.step;
    this.rows = existsSync(this.path)
      ? readCsv(this.path).filter((r) => typeof r.step === 'number' && r.step <= step)
      : [];
    this.columns = [...BASE_COLUMNS];
    for (const row of this.rows) this.addColumns(Object.keys(row));
  }

  onEpochEnd(state: TrainState): void {
    this.add('epoch_end', state);
  }

  onEvalEnd(state: TrainState): void {
    this.add('eval_end', state);
  }

  private add(event: string, state: TrainState): void {
    const ts = state.timestamp;
    const row: Row = {
      event,
      epoch: ts.epoch,
      step: ts.step,
      samples: ts.samples,
      trainSeconds: ts.trainSeconds,
      evalSeconds: ts.evalSeconds,
      lr: state.optimizer.hyper.lr,
      ...(event === 'eval_end' ? state.metrics : trainingMetrics(state)),
    };
    this.rows.push(row);
    this.addColumns(Object.keys(row));
    const lines = [this.columns, ...this.rows.map((r) => this.columns.map((c) => r[c]))];
    writeFileAtomic(this.path, lines.map((l) => l.map(csvField).join(',')).join('\n') + '\n');
  }

  private addColumns(keys: string[]): void {
    for (const key of keys) if (!this.columns.includes(key)) this.columns.push(key);
  }
}

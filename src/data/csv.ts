/**
 * The `csv` dataset: a header row, numeric feature columns and one label column (strings or
 * integers). Read with csv-parse, so quoting and line numbers are the parser's; every row is
 * checked here, and a bad one is named by its line and column.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { UsageError } from '../errors.js';

export const DEFAULT_LABEL_COLUMN = 'label';

/** One CSV file's rows: features row-major, labels as written. */
export interface CsvTable {
  path: string;
  featureNames: string[];
  /** rows * featureNames.length values. */
  features: Float64Array;
  labels: string[];
}

export function readCsvTable(path: string, labelColumn = DEFAULT_LABEL_COLUMN): CsvTable {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(
      'ANNEAL_DATA_NOT_FOUND',
      `csv: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): check the path given to --data-dir`,
    );
  }
  let records: { record: string[]; info: { lines: number } }[];
  try {
    // Rows of the wrong length are checked below, to name the line and both counts.
    records = parse(text, {
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      trim: true,
    }) as unknown as typeof records; // csv-parse's types miss the shape `info: true` gives
  } catch (e) {
    throw new UsageError(
      'ANNEAL_DATA_BAD_CSV',
      `csv: ${path} is not valid CSV (${(e as Error).message}): fix the file`,
    );
  }
  if (records.length < 2) {
    throw new UsageError(
      'ANNEAL_DATA_BAD_CSV',
      `csv: ${path} has ${records.length === 0 ? 'nothing' : 'a header and no rows'}: expected a header row and one row per sample`,
    );
  }
  const header = records[0].record;
  const labelAt = header.indexOf(labelColumn);
  if (labelAt < 0) {
    throw new UsageError(
      'ANNEAL_DATA_NO_LABEL_COLUMN',
      `csv: ${path} has no column '${labelColumn}' (its columns: ${header.join(', ')}): ` +
        'pass --label-column with the name of the label column',
    );
  }
  const featureNames = header.filter((_, i) => i !== labelAt);
  const rows = records.slice(1);
  const features = new Float64Array(rows.length * featureNames.length);
  const labels: string[] = [];
  rows.forEach(({ record, info }, r) => {
    if (record.length !== header.length) {
      throw new UsageError(
        'ANNEAL_DATA_BAD_CSV',
        `csv: ${path} line ${info.lines} has ${record.length} fields, expected ${header.length} ` +
          `(${header.join(', ')}): fix the row`,
      );
    }
    let f = r * featureNames.length;
    record.forEach((value, i) => {
      if (i === labelAt) return;
      const x = value === '' ? NaN : Number(value);
      if (!Number.isFinite(x)) {
        throw new UsageError(
          'ANNEAL_DATA_BAD_CSV',
          `csv: ${path} line ${info.lines}, column '${header[i]}': ${JSON.stringify(value)} is not ` +
            `a number; features must be numeric (the label column is '${labelColumn}')`,
        );
      }
      features[f++] = x;
    });
    labels.push(record[labelAt]);
  });
  return { path, featureNames, features, labels };
}

/**
 * The class names of labels as written: integers in numeric order when every label is an
 * integer, else the distinct strings sorted (as image-folder sorts its folder names).
 */
export function csvClassNames(labels: readonly string[]): string[] {
  const distinct = [...new Set(labels)];
  const integers = distinct.every((l) => /^-?\d+$/.test(l));
  return integers
    ? distinct.sort((a, b) => Number(a) - Number(b))
    : distinct.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Training logs: the JSONL and CSV loggers (Trainer callbacks) and their readers. */
export { JsonlLog, JsonlLogger, readJsonl, type JsonlLoggerOptions } from './jsonl.js';
export { CsvLogger, readCsv } from './csv.js';

/**
 * IDX files (the MNIST / Fashion-MNIST container, http://yann.lecun.com/exdb/mnist/), raw or
 * gzipped. Layout: two zero bytes, a type code, the number of dimensions, then each dimension as a
 * big-endian uint32, then the elements in row-major order, big-endian.
 *
 * `readIdx` with `limit` reads only the first `limit` rows of an uncompressed file from disk (a
 * 1,000-image subset of MNIST is 0.8 MB instead of 47 MB); the size of the whole file is still
 * checked so a truncated file is never accepted.
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { UsageError } from '../errors.js';

export type IdxDtype = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
export type IdxData =
  Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  dtype: IdxDtype;
  /** Dimensions of `data`; dims[0] is the number of rows read (after `limit`). */
  dims: number[];
  data: IdxData;
}

export interface IdxFile extends IdxArray {
  /** dims[0] of the whole file, before `limit`. */
  rowsInFile: number;
}

const TYPE_BY_CODE: Record<number, { dtype: IdxDtype; bytes: number }> = {
  0x08: { dtype: 'uint8', bytes: 1 },
  0x09: { dtype: 'int8', bytes: 1 },
  0x0b: { dtype: 'int16', bytes: 2 },
  0x0c: { dtype: 'int32', bytes: 4 },
  0x0d: { dtype: 'float32', bytes: 4 },
  0x0e: { dtype: 'float64', bytes: 8 },
};
const CODE_BY_DTYPE = Object.fromEntries(
  Object.entries(TYPE_BY_CODE).map(([code, t]) => [t.dtype, Number(code)]),
) as Record<IdxDtype, number>;

interface IdxHeader {
  dtype: IdxDtype;
  elementBytes: number;
  dims: number[];
  headerBytes: number;
  dataBytes: number;
}

export interface ReadIdxOptions {
  /** Read only the first `limit` rows (entries of dims[0]). */
  limit?: number;
}

/** Reads an IDX file, gunzipping it first when it starts with the gzip magic 0x1f8b. */
export function readIdx(path: string, opts: ReadIdxOptions = {}): IdxFile {
  const fd = openSync(path, 'r');
  try {
    const fileBytes = fstatSync(fd).size;
    const start = readAt(fd, 0, Math.min(fileBytes, 4));
    if (isGzip(start)) return parseIdx(gunzip(readFileSync(fd), path), path, opts);

    // Uncompressed: read the header, check the whole size, then read only the rows asked for.
    const ndims = start.length === 4 ? start[3] : 0;
    const headBytes = readAt(fd, 0, Math.min(fileBytes, 4 + 4 * ndims));
    const header = parseHeader(headBytes, path);
    checkSize(header, fileBytes, path);
    const rows = rowsToRead(header, opts.limit);
    const rowBytes = header.dataBytes / Math.max(1, header.dims[0]);
    const body = readAt(fd, header.headerBytes, rows * rowBytes);
    return decode(header, body, rows);
  } finally {
    closeSync(fd);
  }
}

/** Parses IDX bytes already in memory (gzipped or not); `source` names them in errors. */
export function parseIdx(bytes: Uint8Array, source: string, opts: ReadIdxOptions = {}): IdxFile {
  if (isGzip(bytes)) bytes = gunzip(bytes, source);
  const header = parseHeader(bytes, source);
  checkSize(header, bytes.length, source);
  const rows = rowsToRead(header, opts.limit);
  const rowBytes = header.dataBytes / Math.max(1, header.dims[0]);
  const body = bytes.subarray(header.headerBytes, header.headerBytes + rows * rowBytes);
  return decode(header, body, rows);
}

/** Encodes an array as IDX bytes (big-endian), optionally gzipped. */
export function encodeIdx(array: IdxArray, opts: { gzip?: boolean } = {}): Uint8Array {
  const code = CODE_BY_DTYPE[array.dtype];
  const elementBytes = TYPE_BY_CODE[code].bytes;
  const count = array.dims.reduce((a, b) => a * b, 1);
  if (count !== array.data.length) {
    throw new UsageError(
      'ANNEAL_IDX_SHAPE',
      `IDX dims [${array.dims}] hold ${count} elements but data has ${array.data.length}: make them agree`,
    );
  }
  const headerBytes = 4 + 4 * array.dims.length;
  const out = new Uint8Array(headerBytes + count * elementBytes);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = array.dims.length;
  array.dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  const setters: Record<IdxDtype, (offset: number, value: number) => void> = {
    uint8: (o, v) => view.setUint8(o, v),
    int8: (o, v) => view.setInt8(o, v),
    int16: (o, v) => view.setInt16(o, v),
    int32: (o, v) => view.setInt32(o, v),
    float32: (o, v) => view.setFloat32(o, v),
    float64: (o, v) => view.setFloat64(o, v),
  };
  const set = setters[array.dtype];
  for (let i = 0; i < count; i++) set(headerBytes + i * elementBytes, array.data[i]);
  return opts.gzip ? new Uint8Array(gzipSync(out)) : out;
}

export function writeIdx(path: string, array: IdxArray, opts: { gzip?: boolean } = {}): void {
  writeFileSync(path, encodeIdx(array, opts));
}

/**
 * Reads an images file and its labels file and checks they hold the same number of samples;
 * `limit` applies to both.
 */
export function readIdxPair(
  imagesPath: string,
  labelsPath: string,
  opts: ReadIdxOptions = {},
): { images: IdxFile; labels: IdxFile } {
  const images = readIdx(imagesPath, opts);
  const labels = readIdx(labelsPath, opts);
  if (images.rowsInFile !== labels.rowsInFile) {
    throw new UsageError(
      'ANNEAL_DATA_COUNT_MISMATCH',
      `${imagesPath} holds ${images.rowsInFile} images but ${labelsPath} holds ${labels.rowsInFile} labels: ` +
        'expected the same count; the two files must come from the same split and the same download',
    );
  }
  return { images, labels };
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function gunzip(bytes: Uint8Array, source: string): Uint8Array {
  try {
    return gunzipSync(bytes);
  } catch (e) {
    throw new UsageError(
      'ANNEAL_IDX_BAD_GZIP',
      `${source} starts like a gzip file but does not decompress (${(e as Error).message}): ` +
        'the download is probably incomplete; fetch the file again',
    );
  }
}

function parseHeader(bytes: Uint8Array, source: string): IdxHeader {
  if (bytes.length < 4) throw truncated(source, 'the 4-byte magic number', 4, bytes.length);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new UsageError(
      'ANNEAL_IDX_BAD_MAGIC',
      `${source} is not an IDX file: magic number 0x${hex(magic)}, expected 0x0000TTDD ` +
        '(two zero bytes, a type code, the number of dimensions); check the path points at an ' +
        'IDX file such as train-images-idx3-ubyte[.gz]',
    );
  }
  const type = TYPE_BY_CODE[bytes[2]];
  if (type === undefined) {
    throw new UsageError(
      'ANNEAL_IDX_UNKNOWN_TYPE',
      `${source} has IDX type code 0x${bytes[2].toString(16).padStart(2, '0')} (magic 0x${hex(magic)}): ` +
        'expected one of 0x08 ubyte, 0x09 sbyte, 0x0b short, 0x0c int, 0x0d float, 0x0e double; ' +
        'the file is corrupt or not IDX',
    );
  }
  const ndims = bytes[3];
  if (ndims === 0) {
    throw new UsageError(
      'ANNEAL_IDX_BAD_MAGIC',
      `${source} declares 0 dimensions (magic 0x${hex(magic)}): expected at least 1; the file is corrupt or not IDX`,
    );
  }
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) {
    throw truncated(source, `the header of ${ndims} dimensions`, headerBytes, bytes.length);
  }
  const dims = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i));
  const dataBytes = dims.reduce((a, b) => a * b, 1) * type.bytes;
  return { dtype: type.dtype, elementBytes: type.bytes, dims, headerBytes, dataBytes };
}

function checkSize(header: IdxHeader, actualBytes: number, source: string): void {
  const expected = header.headerBytes + header.dataBytes;
  const what = `dims [${header.dims.join(', ')}] of ${header.dtype}`;
  if (actualBytes < expected) throw truncated(source, what, expected, actualBytes);
  if (actualBytes > expected) {
    throw new UsageError(
      'ANNEAL_IDX_TRAILING_BYTES',
      `${source} is ${actualBytes} bytes but its header (${what}) accounts for ${expected}: ` +
        'the file is not what its header says; fetch it again',
    );
  }
}

function truncated(source: string, what: string, expected: number, actual: number): UsageError {
  return new UsageError(
    'ANNEAL_IDX_TRUNCATED',
    `${source} is truncated: ${what} needs ${expected} bytes but the file has ${actual} ` +
      '(after decompression); the download is probably incomplete, fetch it again',
  );
}

function rowsToRead(header: IdxHeader, limit: number | undefined): number {
  const rows = header.dims[0];
  if (limit === undefined) return rows;
  if (!Number.isInteger(limit) || limit < 0) {
    throw new UsageError(
      'ANNEAL_BAD_LIMIT',
      `limit = ${limit} is not valid: expected a non-negative integer`,
    );
  }
  return Math.min(limit, rows);
}

/** Turns `rows` rows of big-endian element bytes into a typed array (a copy, never a view of a file buffer). */
function decode(header: IdxHeader, body: Uint8Array, rows: number): IdxFile {
  const dims = [rows, ...header.dims.slice(1)];
  const count = body.length / header.elementBytes;
  const base = { dtype: header.dtype, dims, rowsInFile: header.dims[0] };
  // Copy through the typed-array constructors: a Node Buffer's own slice() is a view, not a copy.
  if (header.dtype === 'uint8') return { ...base, data: new Uint8Array(body) };
  if (header.dtype === 'int8') {
    return { ...base, data: new Int8Array(body.buffer, body.byteOffset, body.length).slice() };
  }

  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const n = header.elementBytes;
  let data: IdxData;
  switch (header.dtype) {
    case 'int16':
      data = new Int16Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getInt16(i * n);
      break;
    case 'int32':
      data = new Int32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getInt32(i * n);
      break;
    case 'float32':
      data = new Float32Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getFloat32(i * n);
      break;
    case 'float64':
      data = new Float64Array(count);
      for (let i = 0; i < count; i++) data[i] = view.getFloat64(i * n);
      break;
  }
  return { ...base, data };
}

function readAt(fd: number, position: number, length: number): Uint8Array {
  const buffer = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buffer, done, length - done, position + done);
    if (n === 0) break; // the file shrank under us; the caller's size check reports it
    done += n;
  }
  return done === length ? buffer : buffer.subarray(0, done);
}

function hex(value: number): string {
  return value.toString(16).padStart(8, '0');
}

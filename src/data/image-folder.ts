/**
 * The `image-folder` dataset: one sub-folder per class of PNG, JPEG or WebP images (torchvision's
 * ImageFolder convention; class names are the sorted folder names), or a `train/` and `test/`
 * pair of such folders. Images are decoded and resized with sharp once; the uint8 pixels after
 * the resize go to a cache file keyed by a hash of the files' names, sizes and mtimes and the
 * options, which the next run reads instead of decoding again.
 */
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { writeFileAtomic } from '../atomic.js';
import { UsageError } from '../errors.js';
import { annealCacheDir } from './cache.js';
import type { ImageShape } from './types.js';

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp']);
/** Bump when the cache file's layout changes: old files are then never read. */
const CACHE_VERSION = 1;
/** Images decoded at once (sharp runs each on libuv's thread pool). */
const DECODE_CONCURRENCY = 8;

export interface ImageFolderOptions {
  /** [height, width] every image is resized to (default: the first image's size). */
  imageSize?: [number, number];
  /** Convert every image to one channel (default false: the images' own channels). */
  grayscale?: boolean;
  /** Where the decoded pixels are cached (default: annealCacheDir()). */
  cacheDir?: string;
}

/** Every image of a folder, decoded: all splits together, in file order. */
export interface DecodedFolder {
  pixels: Uint8Array;
  labels: Int32Array;
  /** Per image: true for the `test/` folder of a train/test pair. */
  isTest: Uint8Array;
  shape: ImageShape;
  classNames: string[];
  /** Whether the folder has a train/ and test/ pair (else the split is by val fraction). */
  hasTestFolder: boolean;
  cacheFile: string;
  /** Whether the pixels came from the cache file (nothing was decoded). */
  cacheHit: boolean;
}

interface ImageFile {
  path: string;
  label: number;
  isTest: boolean;
  size: number;
  mtimeMs: number;
}

/** Reads (from the cache when it can) every image under `dir`. */
export async function readImageFolder(
  dir: string,
  opts: ImageFolderOptions = {},
): Promise<DecodedFolder> {
  const { files, classNames, hasTestFolder } = listImages(dir);
  if (opts.cacheDir !== undefined) checkCacheDir(opts.cacheDir);
  const key = cacheKey(dir, files, opts);
  const cacheFile = join(opts.cacheDir ?? annealCacheDir(), 'image-folder', `${key}.bin`);
  const cached = readCache(cacheFile, files.length);
  if (cached) return { ...cached, classNames, hasTestFolder, cacheFile, cacheHit: true };

  const { pixels, shape } = await decodeAll(files, opts);
  const labels = Int32Array.from(files, (f) => f.label);
  const isTest = Uint8Array.from(files, (f) => (f.isTest ? 1 : 0));
  try {
    writeCache(cacheFile, { pixels, labels, isTest, shape });
  } catch (e) {
    if (opts.cacheDir !== undefined) throw e;
    // The default cache is a convenience: without it the data are decoded again next run.
    console.error(
      `anneal: cannot cache decoded images in ${dirname(cacheFile)} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); ` +
        'they will be decoded again next run (pass --cache-dir to choose another folder)',
    );
  }
  return { pixels, labels, isTest, shape, classNames, hasTestFolder, cacheFile, cacheHit: false };
}

/** A --cache-dir must be (or become) a writable folder: checked before any decoding. */
function checkCacheDir(dir: string): void {
  let existing = resolve(dir);
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  let problem: string | undefined;
  if (!statSync(existing).isDirectory()) problem = `${existing} is a file`;
  else {
    try {
      accessSync(existing, constants.W_OK);
    } catch {
      problem = `${existing} is not writable`;
    }
  }
  if (problem) {
    throw new UsageError(
      'ANNEAL_BAD_CACHE_DIR',
      `--cache-dir ${dir}: cannot cache decoded images there (${problem}); choose another --cache-dir`,
    );
  }
}

/** The image files of `dir` with their labels, checked: classes, empty folders, test classes. */
function listImages(dir: string): {
  files: ImageFile[];
  classNames: string[];
  hasTestFolder: boolean;
} {
  const hasTestFolder = isDir(join(dir, 'train')) && isDir(join(dir, 'test'));
  const trainDir = hasTestFolder ? join(dir, 'train') : dir;
  const classNames = subfolders(trainDir);
  if (classNames.length < 2) {
    throw new UsageError(
      'ANNEAL_DATA_ONE_CLASS',
      `image-folder ${trainDir} has ${classNames.length === 0 ? 'no class folders' : `one class folder (${classNames[0]})`}: ` +
        'expected one sub-folder of images per class, at least two classes',
    );
  }
  const files = classNames.flatMap((name, label) => classFiles(trainDir, name, label, false));
  if (hasTestFolder) {
    const testDir = join(dir, 'test');
    for (const name of subfolders(testDir)) {
      const label = classNames.indexOf(name);
      if (label < 0) {
        throw new UsageError(
          'ANNEAL_DATA_BAD_CLASS',
          `image-folder ${join(testDir, name)} is a class that ${trainDir} does not have ` +
            `(its classes: ${classNames.join(', ')}): rename or remove the folder`,
        );
      }
      files.push(...classFiles(testDir, name, label, true));
    }
  }
  return { files, classNames, hasTestFolder };
}

function classFiles(parent: string, name: string, label: number, isTest: boolean): ImageFile[] {
  const folder = join(parent, name);
  const images = readdirSync(folder)
    .filter((f) => !f.startsWith('.') && IMAGE_EXTENSIONS.has(extension(f)))
    .sort();
  if (images.length === 0) {
    throw new UsageError(
      'ANNEAL_DATA_EMPTY_CLASS',
      `image-folder class folder ${folder} has no .png, .jpg, .jpeg or .webp images: ` +
        'add images or remove the folder',
    );
  }
  return images.map((f) => {
    const path = join(folder, f);
    const stat = statSync(path);
    return { path, label, isTest, size: stat.size, mtimeMs: stat.mtimeMs };
  });
}

/** Visible sub-folders, sorted (the class order is the folders' sorted names). */
function subfolders(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.') && isDir(join(dir, e.name)))
    .map((e) => e.name)
    .sort();
}

function isDir(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

function extension(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? '' : name.slice(dot).toLowerCase();
}

/** A hash of what the decoded pixels depend on: the files (names, sizes, mtimes) and options. */
function cacheKey(dir: string, files: ImageFile[], opts: ImageFolderOptions): string {
  const hash = createHash('sha256');
  hash.update(
    JSON.stringify({
      version: CACHE_VERSION,
      dir: resolve(dir),
      imageSize: opts.imageSize ?? null,
      grayscale: opts.grayscale ?? false,
    }),
  );
  for (const f of files) {
    hash.update(`\n${relative(dir, f.path)}\t${f.label}\t${+f.isTest}\t${f.size}\t${f.mtimeMs}`);
  }
  return hash.digest('hex').slice(0, 32);
}

/** Decodes every file (first its header, to check the channels), resized to one shape. */
async function decodeAll(
  files: ImageFile[],
  opts: ImageFolderOptions,
): Promise<{ pixels: Uint8Array; shape: ImageShape }> {
  // Loaded here, not at the top: sharp's native libvips is needed only for image folders, and a
  // bundle carried without node_modules (the GPU check's) must still load for MNIST.
  const { default: sharp } = await import('sharp');
  const buffers: Buffer[] = new Array<Buffer>(files.length);
  const channels: number[] = new Array<number>(files.length);
  const sizes: [number, number][] = new Array<[number, number]>(files.length);
  await forEach(files, async (file, i) => {
    buffers[i] = await readImage(file.path);
    const meta = await sharp(buffers[i])
      .metadata()
      .catch((e: Error) => {
        throw corrupt(file.path, e);
      });
    channels[i] = (meta.channels ?? 0) - (meta.hasAlpha ? 1 : 0);
    sizes[i] = [meta.height ?? 0, meta.width ?? 0];
  });
  const c = opts.grayscale ? 1 : checkChannels(files, channels);
  const [h, w] = opts.imageSize ?? sizes[0];
  const shape: ImageShape = [h, w, c];
  const size = h * w * c;
  const pixels = new Uint8Array(files.length * size);
  await forEach(files, async (file, i) => {
    // Alpha is dropped; 'fill' stretches to the size as torchvision's Resize((h, w)) does.
    const { data, info } = await sharp(buffers[i])
      .removeAlpha()
      .resize(w, h, { fit: 'fill' })
      .toColourspace(c === 1 ? 'b-w' : 'srgb')
      .raw()
      .toBuffer({ resolveWithObject: true })
      .catch((e: Error) => {
        throw corrupt(file.path, e);
      });
    if (info.channels !== c || data.length !== size) {
      throw corrupt(file.path, new Error(`decoded to ${info.channels} channels, expected ${c}`));
    }
    pixels.set(data, i * size);
  });
  return { pixels, shape };
}

async function readImage(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new UsageError(
      'ANNEAL_DATA_UNREADABLE',
      `image-folder: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): ` +
        'check its permissions, or remove it',
    );
  }
}

function corrupt(path: string, e: Error): UsageError {
  return new UsageError(
    'ANNEAL_DATA_BAD_IMAGE',
    `image-folder: ${path} is not a readable PNG, JPEG or WebP image (${e.message.trim()}): ` +
      'replace or remove the file',
  );
}

/** The one channel count (alpha aside) of every image, or an error naming one of each. */
function checkChannels(files: ImageFile[], channels: number[]): number {
  const first = channels[0];
  const other = channels.findIndex((c) => c !== first);
  if (other >= 0) {
    throw new UsageError(
      'ANNEAL_DATA_MIXED_CHANNELS',
      `image-folder: ${files[0].path} has ${first} channel${first === 1 ? '' : 's'} but ` +
        `${files[other].path} has ${channels[other]}: pass --grayscale to make every image one ` +
        'channel, or convert the images to one colour mode',
    );
  }
  return first;
}

/** Runs `fn` on every item, DECODE_CONCURRENCY at a time. */
async function forEach<T>(items: T[], fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(DECODE_CONCURRENCY, items.length) }, worker));
}

/*
 * Cache file: "ANNEALIF" magic, a uint32 header length, a JSON header { version, count, shape },
 * then labels (int32), test flags (uint8) and pixels (uint8). Little-endian.
 */
const MAGIC = 'ANNEALIF';

interface CachedPixels {
  pixels: Uint8Array;
  labels: Int32Array;
  isTest: Uint8Array;
  shape: ImageShape;
}

function writeCache(path: string, data: CachedPixels): void {
  const header = Buffer.from(
    JSON.stringify({ version: CACHE_VERSION, count: data.labels.length, shape: data.shape }),
  );
  const prefix = Buffer.alloc(MAGIC.length + 4);
  prefix.write(MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(header.length, MAGIC.length);
  const labels = Buffer.from(data.labels.buffer, data.labels.byteOffset, data.labels.byteLength);
  writeFileAtomic(path, Buffer.concat([prefix, header, labels, data.isTest, data.pixels]));
}

/** The cached pixels, or undefined when there is no usable cache file (then it is rewritten). */
function readCache(path: string, count: number): CachedPixels | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return undefined;
  }
  try {
    if (bytes.toString('latin1', 0, MAGIC.length) !== MAGIC) return undefined;
    const headerLength = bytes.readUInt32LE(MAGIC.length);
    let at = MAGIC.length + 4;
    const header = JSON.parse(bytes.toString('utf8', at, at + headerLength)) as {
      version: number;
      count: number;
      shape: ImageShape;
    };
    at += headerLength;
    if (header.version !== CACHE_VERSION || header.count !== count) return undefined;
    const size = header.shape[0] * header.shape[1] * header.shape[2];
    if (bytes.length !== at + count * (4 + 1 + size)) return undefined;
    // Copies, so the int32 view is aligned.
    const labels = new Int32Array(
      bytes.buffer.slice(bytes.byteOffset + at, bytes.byteOffset + at + 4 * count),
    );
    at += 4 * count;
    const isTest = new Uint8Array(bytes.subarray(at, at + count));
    at += count;
    const pixels = new Uint8Array(bytes.subarray(at));
    return { pixels, labels, isTest, shape: header.shape };
  } catch {
    return undefined;
  }
}

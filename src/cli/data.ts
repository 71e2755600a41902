/** `anneal data info`: what a dataset holds and where it was read from. */
import { datasetInfo, type Split } from '../data/index.js';

export async function dataInfoCommand(opts: {
  data: string;
  dataDir?: string;
  split: Split;
  imageSize?: number | [number, number];
  grayscale?: boolean;
  valFraction?: number;
  cacheDir?: string;
  labelColumn?: string;
  json: boolean;
}): Promise<void> {
  const { imageSize } = opts;
  const info = await datasetInfo(opts.data, {
    dataDir: opts.dataDir,
    split: opts.split,
    imageSize: typeof imageSize === 'number' ? [imageSize, imageSize] : imageSize,
    grayscale: opts.grayscale,
    valFraction: opts.valFraction,
    cacheDir: opts.cacheDir,
    labelColumn: opts.labelColumn,
  });
  if (opts.json) {
    console.log(JSON.stringify(info, null, 2));
    return;
  }
  for (const [key, value] of Object.entries(info)) {
    console.log(`${key.padEnd(17)} ${typeof value === 'object' ? JSON.stringify(value) : value}`);
  }
}

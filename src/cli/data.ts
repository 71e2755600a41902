/** `anneal data info`: what a dataset holds and where it was read from. */
import { datasetInfo } from '../data/index.js';

export async function dataInfoCommand(opts: {
  data: string;
  dataDir?: string;
  json: boolean;
}): Promise<void> {
  const info = await datasetInfo(opts.data, { dataDir: opts.dataDir });
  if (opts.json) {
    console.log(JSON.stringify(info, null, 2));
    return;
  }
  for (const [key, value] of Object.entries(info)) {
    console.log(`${key.padEnd(14)} ${typeof value === 'object' ? JSON.stringify(value) : value}`);
  }
}

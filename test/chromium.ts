/**
 * The browser the browser tests drive: Debian's chromium, headless, through playwright-core
 * (.ci/run installs it). `skip` is the reason to skip where it is missing.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';

export const skip: string | false = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium), as .ci/run does`;

/** Starts chromium headless, quiet: no sandbox (CI runs as root), no GPU, no network chatter. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/**
 * Launches Debian's Chromium for the browser tests (issue 5). playwright-core ships no browser;
 * `.ci/run` installs the `chromium` package, and the flags keep it from reaching the network or
 * competing for the two CPU cores (no GPU process, no background updates).
 */
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

/**
 * Why the browser tests are skipped, or undefined when they can run. Never skipped under CI (`CI`
 * set, as `.ci/run` is run): there a missing browser must fail the run, not hide the page's tests.
 */
export const browserSkipReason: string | undefined =
  existsSync(CHROMIUM_PATH) || (process.env['CI'] ?? '') !== ''
    ? undefined
    : `${CHROMIUM_PATH} not found: install Debian's chromium package (apt-get install chromium) or set CHROMIUM_PATH`;

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    timeout: 30_000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

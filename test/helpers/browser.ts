// Launches the system browsers for end-to-end tests: Chromium through playwright-core,
// Firefox ESR through puppeteer-core over WebDriver BiDi (docs/platform.md). Paths
// come from CHROME_PATH / FIREFOX_PATH, which scripts/test.mjs always exports.
import { chromium, type Browser as PlaywrightBrowser, type LaunchOptions } from 'playwright-core';
import { test } from 'node:test';
import puppeteer, { type Browser as PuppeteerBrowser, type LaunchOptions as PuppeteerLaunchOptions } from 'puppeteer-core';

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStaticServer, type Route, type StaticServer } from './collector.js';

export type { PlaywrightBrowser, PuppeteerBrowser };

/** Flags that keep Chromium quiet on a closed network and let it run as root. */
export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic',
];

/**
 * Launch options for Chromium with its back/forward cache on: playwright
 * launches with `--disable-back-forward-cache` unless told to leave it out.
 */
export const BFCACHE: LaunchOptions = { ignoreDefaultArgs: ['--disable-back-forward-cache'] };

export const chromePath = (): string => process.env.CHROME_PATH ?? '/usr/bin/chromium';
export const firefoxPath = (): string => process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

/** Headless Chromium (playwright-core). `extra.args` are appended to CHROMIUM_ARGS. */
export async function launchChromium(extra: LaunchOptions = {}): Promise<PlaywrightBrowser> {
  const executablePath = chromePath();
  try {
    return await chromium.launch({
      timeout: 60_000,
      ...extra,
      executablePath,
      args: [...CHROMIUM_ARGS, ...(extra.args ?? [])],
    });
  } catch (e) {
    throw new Error(`launchChromium: cannot start ${executablePath} (set CHROME_PATH, or run scripts/test.mjs, ` +
      `which installs Debian's chromium as root): ${(e as Error).message}`);
  }
}

/** Headless Firefox ESR (puppeteer-core, WebDriver BiDi). */
export async function launchFirefox(extra: PuppeteerLaunchOptions = {}): Promise<PuppeteerBrowser> {
  const executablePath = firefoxPath();
  try {
    return await puppeteer.launch({ timeout: 60_000, ...extra, browser: 'firefox', executablePath, headless: true });
  } catch (e) {
    throw new Error(`launchFirefox: cannot start ${executablePath} (set FIREFOX_PATH, or run scripts/test.mjs, ` +
      `which installs Debian's firefox-esr as root): ${(e as Error).message}`);
  }
}

/** What a test needs of a page from either driver. */
export interface AnyPage {
  goto(url: string): Promise<unknown>;
  evaluate(code: string): Promise<unknown>;
  /** Both drivers report an uncaught page error as 'pageerror'. */
  on(event: 'pageerror', fn: (e: Error) => void): unknown;
}

/** A new page at `url`, with the page's uncaught errors collected in `errors` from before it loads. */
export async function openPage(newPage: () => Promise<AnyPage>, url: string): Promise<{ page: AnyPage; errors: string[] }> {
  const page = await newPage();
  const errors: string[] = [];
  page.on('pageerror', (e: Error) => errors.push(String(e)));
  await page.goto(url);
  return { page, errors };
}

/** Registers `Chromium: <title>` and `Firefox ESR: <title>`, each running `fn` with new pages of that browser. */
export function inBothBrowsers(title: string, fn: (newPage: () => Promise<AnyPage>) => Promise<void>): void {
  const browsers: Array<[string, () => Promise<PlaywrightBrowser | PuppeteerBrowser>]> = [['Chromium', () => launchChromium()], ['Firefox ESR', () => launchFirefox()]];
  for (const [name, launch] of browsers) {
    test(`${name}: ${title}`, async (t) => {
      const browser = await launch();
      t.after(() => browser.close());
      await fn(() => browser.newPage() as Promise<AnyPage>);
    });
  }
}

/**
 * A site for a page that imports the SDK itself: a blank `/index.html`
 * titled `title`, `/browser.js` and `/wasmtrace.wasm` from dist/ (read now,
 * so build first), and `routes` besides.
 */
export function sdkSite(title: string, routes: Record<string, Route> = {}): Promise<StaticServer> {
  const dist = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist');
  return startStaticServer({
    routes: {
      '/index.html': `<!doctype html><title>${title}</title>`,
      '/browser.js': { body: readFileSync(join(dist, 'browser.js')), type: 'text/javascript' },
      '/wasmtrace.wasm': { body: readFileSync(join(dist, 'wasmtrace.wasm')), type: 'application/wasm' },
      ...routes,
    },
  });
}

/**
 * The vitals of `want` that web-vitals will report for the page `evaluate` runs in: it
 * reports no TTFB when the navigation entry's responseStart is not inside
 * (0, now) — entries Firefox gives at times (web-vitals issues 137 and 275;
 * seen once in a loaded CI run: every other vital arrived) — so TTFB is
 * expected exactly when the page's own entry passes web-vitals' check.
 */
export async function reportedVitals(evaluate: (code: string) => Promise<unknown>, want: string[]): Promise<string[]> {
  if (!want.includes('TTFB')) return want;
  const [start, now] = await evaluate(`[performance.getEntriesByType('navigation')[0]?.responseStart ?? 0, performance.now()]`) as [number, number];
  if (start > 0 && start < now) return want;
  console.log(`# this page has no TTFB to report: responseStart ${start} at ${now}`);
  return want.filter((n) => n !== 'TTFB');
}

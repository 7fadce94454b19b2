// Shared set-up of the instrumentation-data tests (inst-*.test.ts): a site
// serving the built SDK (dist/: build first) and the test's routes, a
// collector decoding what the page sends with the test's own decoder, and
// headless Chromium (playwright-core).
import type { TestContext } from 'node:test';
import type { LaunchOptions, Page } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, sdkSite } from '../helpers/browser.js';
import { startCollector, type Collector, type Route, type StaticServer } from '../helpers/collector.js';
import { attrs, type FlatSpan } from '../helpers/otlp.js';

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

/** A random lowercase word of `n` letters. */
export const word = (r: () => number, n = 8): string => Array.from({ length: n }, () => String.fromCharCode(97 + Math.floor(r() * 26))).join('');

export interface Env {
  site: StaticServer;
  c: Collector;
  newPage(): Promise<Page>;
}

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist');

/** A site (with `/wasmtrace.js` too), a collector allowing it, and Chromium; closed after the test. */
export async function startEnv(t: TestContext, routes: Record<string, Route>, launch: LaunchOptions = {}): Promise<Env> {
  const site = await sdkSite('inst', { '/wasmtrace.js': { body: readFileSync(join(dist, 'wasmtrace.js')), type: 'text/javascript' }, ...routes });
  const c = await startCollector({ cors: { origins: [site.origin] } });
  const browser = await launchChromium(launch);
  t.after(async () => {
    await browser.close();
    await c.close();
    await site.close();
  });
  return { site, c, newPage: () => browser.newPage() };
}

/** Page code that starts the SDK with `options` (merged over quick-delivery defaults); resolves when it is ready. */
export const initCode = (endpoint: string, options: object = {}): string => `(async () => {
  const { init } = await import('/browser.js');
  window.tracer = await init({ serviceName: 'inst-e2e', endpoint: ${JSON.stringify(endpoint)}, wasm: '/wasmtrace.wasm',
    compression: 'none', scheduledDelayMs: 100, ...${JSON.stringify(options)} });
  return true;
})()`;

export const named = (c: Collector, name: string): FlatSpan[] => c.spans().filter((s) => s.name === name);
export const attr = (s: FlatSpan, key: string): unknown => attrs(s.attributes)[key];
export const eventAttrs = (s: FlatSpan, name = 'exception'): Record<string, unknown> => attrs(s.events.find((e) => e.name === name)?.attributes ?? []);
export const ms = (nanos: string): number => Number(BigInt(nanos) / 1000n) / 1000;

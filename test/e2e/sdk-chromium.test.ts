// The SDK in Chromium (playwright-core): every scenario of sdk-scenarios.ts.
import { after, before, test } from 'node:test';
import { chromiumDriver, type Driver } from './sdk-env.js';
import * as s from './sdk-scenarios.js';

let d: Driver;
before(async () => {
  d = await chromiumDriver();
});
after(async () => {
  await d?.close();
});

const t = { timeout: 120_000 };
test('Chromium: page load → documentLoad, documentFetch and resource spans within the navigation', t, () => s.pageLoad(d));
test('Chromium: traceparent matches the client span; none outside propagateTo', t, () => s.propagation(d));
test('Chromium: requests sent before the SDK is ready are traced, their traceparent naming their span', t, () => s.earlyRequests(d));
test('Chromium: a click (and the submit it causes) parents the requests it starts', t, () => s.interactions(d));
test('Chromium: thrown errors and unhandled rejections are exported', t, () => s.errors(d));
test('Chromium: web vitals arrive after the page is hidden', t, () => s.webVitals(d, ['LCP', 'FCP', 'TTFB', 'CLS', 'INP']));
test('Chromium: closing the tab mid-batch loses nothing (20 times)', { timeout: 240_000 }, () => s.unload(d, 'close', 20));
test('Chromium: navigating away mid-batch loses nothing (10 times)', { timeout: 240_000 }, () => s.unload(d, 'navigate', 10));
test('Chromium: collector down → localStorage → reload → exactly once', t, () => s.offlineThenReload(d));
test('Chromium: two tabs share the queue without loss or duplicates', t, () => s.twoTabs(d));
test("Chromium: script tag under script-src 'self' 'wasm-unsafe-eval'", t, () => s.cspAllowed(d));
test('Chromium: Wasm refused by CSP → no-op, one warning, nothing thrown', t, () => s.cspRefused(d));
test('Chromium: init() from wasmtrace/browser with instrumentations options', t, () => s.esmInit(d));
test('Chromium: the load event does not wait for the Wasm; calls made meanwhile are replayed', t, () => s.slowWasm(d));
test('Chromium: collector unreachable (connection refused) → localStorage → reload → exactly once', t, () => s.refusedThenReload(d));

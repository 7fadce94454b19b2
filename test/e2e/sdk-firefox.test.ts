// The SDK in Firefox ESR (puppeteer-core over WebDriver BiDi): the scenarios of
// sdk-scenarios.ts. Firefox has no layout-shift, longtask or long-animation-frame
// entries (PLATFORM-FACTS.md), so CLS is not expected there.
import { after, before, test } from 'node:test';
import { firefoxDriver, type Driver } from './sdk-env.js';
import * as s from './sdk-scenarios.js';

let d: Driver;
before(async () => {
  d = await firefoxDriver();
});
after(async () => {
  await d?.close();
});

const t = { timeout: 120_000 };
test('Firefox: page load → documentLoad, documentFetch and resource spans within the navigation', t, () => s.pageLoad(d));
test('Firefox: traceparent matches the client span; none outside propagateTo', t, () => s.propagation(d));
test('Firefox: requests sent before the SDK is ready are traced, their traceparent naming their span', t, () => s.earlyRequests(d));
test('Firefox: a click (and the submit it causes) parents the requests it starts', t, () => s.interactions(d));
test('Firefox: thrown errors and unhandled rejections are exported', t, () => s.errors(d));
test('Firefox: web vitals arrive after the page is hidden', t, () => s.webVitals(d, ['LCP', 'FCP', 'TTFB', 'INP']));
test('Firefox: closing the tab mid-batch loses nothing (20 times)', { timeout: 240_000 }, () => s.unload(d, 'close', 20));
test('Firefox: navigating away mid-batch loses nothing (10 times)', { timeout: 240_000 }, () => s.unload(d, 'navigate', 10));
test('Firefox: collector down → localStorage → reload → exactly once', t, () => s.offlineThenReload(d));
test('Firefox: two tabs share the queue without loss or duplicates', t, () => s.twoTabs(d));
test("Firefox: script tag under script-src 'self' 'wasm-unsafe-eval'", t, () => s.cspAllowed(d));
test('Firefox: Wasm refused by CSP → no-op, one warning, nothing thrown', t, () => s.cspRefused(d));
test('Firefox: init() from wasmtrace/browser with instrumentations options', t, () => s.esmInit(d));
test('Firefox: the load event does not wait for the Wasm; calls made meanwhile are replayed', t, () => s.slowWasm(d));
test('Firefox: collector unreachable (connection refused) → localStorage → reload → exactly once', t, () => s.refusedThenReload(d));

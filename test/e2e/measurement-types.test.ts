// Measurements keep one OTLP type: web_vital.value, .delta and every numeric
// web_vital.attribution.*, and browser.long_task.*, are doubles on every
// span, integral or not (FCP 92 went as an int, TTFB 91.3 as a double: a
// type conflict for backends). Page loads with a generated layout shift and
// long frame each, in Chromium and Firefox ESR.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FlatSpan } from '../helpers/otlp.js';
import { reportedVitals } from '../helpers/browser.js';
import { chromiumDriver, type Driver, firefoxDriver, startEnv, waitSpans } from './sdk-env.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

const measured = (key: string): boolean => key.startsWith('web_vital.') || key.startsWith('browser.long_task.');

/** Numeric measurement attributes sent as anything but a double: "span key=value". */
const notDouble = (spans: FlatSpan[]): string[] => spans.flatMap((s) => s.attributes
  .filter((kv) => measured(kv.key) && !('stringValue' in kv.value) && !('boolValue' in kv.value) && !('doubleValue' in kv.value))
  .map((kv) => `${s.name} ${kv.key}=${JSON.stringify(kv.value)}`));

async function allDoubles(driver: () => Promise<Driver>, vitals: string[], seed: number): Promise<void> {
  const d = await driver();
  const env = await startEnv();
  const r = rng(seed);
  try {
    for (let load = 0; load < 3; load++) {
      const before = env.collector.spans().length;
      const tab = await d.newTab();
      await tab.goto(env.appUrl());
      await tab.eval('wasmtrace.ready.then(() => true)');
      // A shift of a generated height, and a long frame of a generated length.
      await tab.eval(`(() => { const p = document.createElement('p'); p.style.height = '${10 + Math.floor(r() * 200)}px'; document.body.prepend(p); })()`);
      await tab.eval(`(() => { const t = performance.now(); while (performance.now() - t < ${60 + r() * 60}); })()`);
      await tab.click('#slow');
      await new Promise((res) => setTimeout(res, 300));
      const expected = await reportedVitals((code) => tab.eval(code), vitals);
      await tab.close();
      const spans = await waitSpans(env.collector, (s) => expected.every((n) => s.slice(before).some((x) => x.name === `web-vital.${n}`)) &&
        (d.name !== 'chromium' || s.slice(before).some((x) => x.name === 'longAnimationFrame')));
      const mine = spans.slice(before);
      assert.ok(mine.filter((s) => s.name.startsWith('web-vital.')).every((s) => s.attributes.some((kv) => kv.key === 'web_vital.value')));
      assert.deepEqual(notDouble(mine), [], `load ${load}`);
    }
  } finally {
    await env.close();
    await d.close();
  }
}

test('Chromium: web vitals and long frames send their measurements as doubles (3 generated loads)', () => allDoubles(chromiumDriver, ['LCP', 'FCP', 'TTFB', 'CLS', 'INP'], 3));
test('Firefox ESR: web vitals send their measurements as doubles (3 generated loads)', () => allDoubles(firefoxDriver, ['LCP', 'FCP', 'TTFB', 'INP'], 4));

// Which requests a click handler starts are the click's children
// (docs/browser.md, "How interaction spans parent requests"): those sent
// while its listeners run and in the promise callbacks that run before the
// dispatch ends — for a user's click however many awaits of settled values
// deep, for a script's el.click() up to the first await — and none after an
// await on the network or a timer. Each handler is a generated chain of
// steps, in Chromium and Firefox ESR.
import assert from 'node:assert/strict';
import { inBothBrowsers, sdkSite, type AnyPage } from '../helpers/browser.js';
import { startCollector } from '../helpers/collector.js';
import { attrs } from '../helpers/otlp.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

/** A step before the next request: nothing, an await of a settled value, an await of a request, a timer. */
const STEPS = {
  none: '',
  settled: 'await null;',
  network: "await fetch('/echo?wait');",
  timer: 'await new Promise((r) => setTimeout(r, 0));',
} as const;
type Step = keyof typeof STEPS;

/** Handlers: up to 5 steps, settled awaits the likeliest, a request after each (`/echo?h<i>-<j>`). */
function handlers(seed: number, n: number): Step[][] {
  const r = rng(seed);
  const kinds: Step[] = ['none', 'settled', 'settled', 'settled', 'network', 'timer'];
  return Array.from({ length: n }, () => Array.from({ length: 1 + Math.floor(r() * 5) }, () => kinds[Math.floor(r() * kinds.length)]!));
}

/**
 * Parented as documented: until the first step that waits for the network or
 * a timer; for a script's click, also not after a second await of a settled
 * value (the callbacks run after the whole dispatch, the click's release among them).
 */
const expected = (steps: Step[], trusted: boolean): boolean[] => {
  let inside = true;
  let awaits = 0;
  return steps.map((s) => (inside &&= s === 'none' || (s === 'settled' && (trusted || ++awaits < 2))));
};

const page = (hs: Step[][]): string => `<!doctype html><title>click</title>
${hs.map((_, i) => `<button id="h${i}">h${i}</button>`).join('')}
<script>
${hs.map((steps, i) => `document.getElementById('h${i}').addEventListener('click', async () => {
  ${steps.map((s, j) => `${STEPS[s]} fetch('/echo?h${i}-${j}');`).join('\n  ')}
});`).join('\n')}
</script>`;

async function parented(newPage: () => Promise<AnyPage>, trusted: boolean): Promise<void> {
  const hs = handlers(trusted ? 808 : 909, 24);
  const site = await sdkSite('click', { '/index.html': page(hs), '/echo': { body: '{}', type: 'application/json' } });
  const c = await startCollector({ cors: { origins: [site.origin] } });
  try {
    const p = await newPage() as AnyPage & { click(selector: string): Promise<void> };
    await p.goto(site.url);
    await p.evaluate(`import('/browser.js').then(({ init }) => init({ serviceName: 'click-e2e', endpoint: ${JSON.stringify(c.url)}, wasm: '/wasmtrace.wasm',
      compression: 'none', scheduledDelayMs: 100, instrumentations: { webVitals: false, documentLoad: false, resources: false, longTasks: false } })).then(() => true)`);
    for (let i = 0; i < hs.length; i++) {
      if (trusted) await p.click(`#h${i}`);
      else await p.evaluate(`document.getElementById('h${i}').click()`);
    }
    const total = hs.reduce((n, s) => n + s.length, 0);
    const requests = () => c.spans().filter((s) => /\/echo\?h/.test(String(attrs(s.attributes)['url.full'])));
    await c.waitFor(() => requests().length === total && c.spans().filter((s) => s.name === 'click').length === hs.length, 15_000);
    const clicks = new Map(c.spans().filter((s) => s.name === 'click').map((s) => [s.spanId, String(attrs(s.attributes).target_id)]));
    const seen = new Map(requests().map((s) => [String(attrs(s.attributes)['url.full']).split('?')[1], clicks.get(s.parentSpanId)]));
    hs.forEach((steps, i) => {
      const want = expected(steps, trusted);
      steps.forEach((s, j) => assert.equal(seen.get(`h${i}-${j}`) === `h${i}`, want[j], `handler ${JSON.stringify(steps)}: request ${j} (after ${s}) is the click's child?`));
    });
  } finally {
    await c.close();
    await site.close();
  }
}

inBothBrowsers("a user's click parents the requests its handler sends before it awaits the network or a timer (24 generated handlers)", (newPage) => parented(newPage, true));
inBothBrowsers("a script's el.click() parents the requests its handler sends before its second await, or one on the network or a timer (24 generated handlers)", (newPage) => parented(newPage, false));

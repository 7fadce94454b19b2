// A pagehide handler the browser ends partway. Firefox, closing a tab, can
// stop a page's pagehide listener (docs/platform.md) at its next function
// call or loop once the tab's close asks it to, and then runs the page's
// next listeners (visibilitychange follows pagehide). Here V8 ends the handler
// the same way (vm's timeout: no catch, no finally runs), at a chosen point:
// inside Wasm's drain, before or after the host keeps the bytes (spans were
// lost there); inside enqueue (the body between the drained bodies and the
// queue); while the request's deadline is set up (the batch was marked in
// flight already, and lost); in the SDK's fetch wrapper before it makes the request (its batch
// was taken as sent, and lost); or at the first call after fetch() returned
// (the request left: sending it again made duplicates). Every span must
// arrive exactly once. Not here: an end in the transport before the request
// reaches the SDK's wrapper, or with no such wrapper, which is taken as sent
// (whether the request left is not known there; pipeline.ts, retake()).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStorageArea } from '../helpers/memory-storage.js';
import { prng } from '../../demo/collector/synthetic.mjs';
import { endable, endSpans, hide, pageAndCollector, received, sleep, spin, storedSpans, tabFor, uniqueIds } from './delivery-harness.js';
import type { SpanSource } from '../../src/export/types.js';
import { wrapFetch } from '../../src/browser/util.js';


type Point = 'before-request' | 'after-request' | 'enqueue' | 'deadline' | 'before-keep' | 'after-keep';
const POINTS: Point[] = ['before-request', 'after-request', 'enqueue', 'deadline', 'before-keep', 'after-keep'];

test('a pagehide handler ended partway (before fetch() makes the request or just after, inside enqueue, while the request deadline is made, before or after a drain hands over its bytes) loses and repeats nothing: 60 generated closes', async (t) => {
  const rand = prng(0x5eed_c10);
  for (let i = 0; i < 60; i++) {
    const point = POINTS[i % POINTS.length]!;
    const batch = 10 + Math.floor(rand() * 60);
    const concurrent = 1 + Math.floor(rand() * 3);
    // Cut before the close (in flight, or waiting for a request slot: stored), or none.
    const early = rand() < 0.5 ? 0 : batch + Math.floor(rand() * 3 * batch);
    const late = 1 + Math.floor(rand() * (batch - 1)); // still in Wasm at pagehide
    const total = early + late;
    const label = `${point}: ${early} spans cut before the close, ${late} after, batches of ${batch}, ${concurrent} at a time`;
    await t.test(label, async (tt) => {
      // Answers late: the batches cut before the close are still in flight at pagehide.
      const { c, page } = await pageAndCollector(tt, { respond: () => ({ delayMs: 150 }) });
      const area = createStorageArea();
      let armed = false;
      const wrap = (s: SpanSource): SpanSource => ({
        ...s,
        drain: (maxBytes, maxSpans, keep) =>
          s.drain(maxBytes, maxSpans, (e) => {
            if (armed && point === 'before-keep') spin();
            keep?.(e);
            if (armed && point === 'after-keep') spin();
          }),
      });
      const options = { storage: area.open(), maxExportBatchSize: batch, maxConcurrentRequests: concurrent };
      // The request's abort signal, made before its transport is called.
      const signal = (s: AbortSignal | undefined): AbortSignal | undefined => {
        if (armed && point === 'deadline') spin();
        return s;
      };
      const a = await tabFor(c.url, options, wrap, { signal });
      await sleep(60); // start-up adoption done
      const fetch0 = globalThis.fetch;
      tt.after(() => void (globalThis.fetch = fetch0));
      // The page's fetch as the SDK's instrumentation wraps it: its code
      // before the request is made (the URL, the trace headers) is where the
      // handler is ended for 'before-request'.
      let returned = false;
      const below = function (this: unknown, ...args: Parameters<typeof fetch>) {
        const sent = fetch0.apply(this, args);
        returned = armed;
        return sent;
      };
      globalThis.fetch = wrapFetch(below as typeof fetch, () => {
        if (armed && point === 'before-request') spin();
        return undefined; // delivery's own request: not traced
      });
      // Just after: the first call once fetch() has returned (the deadline's
      // listener on the request's signal), the request on its way.
      const listen0 = EventTarget.prototype.addEventListener;
      tt.after(() => void (EventTarget.prototype.addEventListener = listen0));
      EventTarget.prototype.addEventListener = function (this: EventTarget, ...args: Parameters<EventTarget['addEventListener']>) {
        if (armed && returned && point === 'after-request' && this instanceof AbortSignal) spin();
        return listen0.apply(this, args);
      };
      // Inside enqueue: a new batch's id (Math.random), the body drained and not yet queued.
      const random0 = Math.random;
      tt.after(() => void (Math.random = random0));
      Math.random = () => {
        if (armed && point === 'enqueue') spin();
        return random0();
      };
      endSpans(a.tracer, early, 'early');
      await sleep(0); // the batch-size trigger cuts and sends what it can
      endSpans(a.tracer, late, 'late');
      armed = true;
      const ended = endable(() => page.win.dispatchEvent(new Event('pagehide')));
      armed = false;
      assert.ok(ended, 'the handler reached the point where it is ended');
      hide(page); // Firefox's next listener: visibilitychange, after pagehide
      // What the closed page left stored, a later page of the origin sends.
      await c.waitFor(() => received(c).user.length >= total, 10_000).catch(() => undefined);
      if (storedSpans(area) > 0) {
        const next = await tabFor(c.url, { storage: area.open() });
        await next.tracer.shutdown();
      }
      await c.waitFor(() => received(c).user.length >= total, 15_000).catch(() => undefined);
      await sleep(200); // room for a copy to show up
      const user = received(c).user;
      assert.equal(uniqueIds(user), total, `every span delivered (${uniqueIds(user)}/${total})`);
      assert.equal(user.length, total, `none twice (${user.length} deliveries)`);
      await a.tracer.shutdown();
    });
  }
});

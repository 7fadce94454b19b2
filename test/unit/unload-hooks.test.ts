// The pagehide hooks (prepare.ts: watchUnload) ended partway. Firefox, closing
// a tab, can end a page's running listener at its next function call or loop,
// once, and then runs the page's next listeners in full; with markers it was
// the SDK's first pagehide listener, the run over the hooks, in half the
// closes or more, and the spans those hooks end (requests still in flight, an
// open navigation or interaction, documentLoad) were never ended, never
// exported. Here V8 ends the listener the same way (vm's timeout: no catch, no
// finally runs) at each call the run makes: a hook's entry, or a span's
// setAttribute or end() as endInflight calls them. Then either the page's
// next pagehide listeners run and visibilitychange follows (Firefox's order),
// or the rest of the pagehide dispatch is lost too and only visibilitychange
// follows. Every span must reach the collector exactly once, each request
// marked unfinished.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prng } from '../../demo/collector/synthetic.mjs';
import { endable, hide, pageAndCollector, received, sleep, spin, tabFor, uniqueIds } from './delivery-harness.js';
import { attrs } from '../helpers/otlp.js';
import { watchUnload } from '../../src/browser/prepare.js';
import { endInflight, inflight, startClientSpan } from '../../src/browser/util.js';
import type { Span } from '../../src/types.js';
import { forceEnd, track } from '../../src/browser/hold.js';


type Mode = 'next-listeners' | 'visibilitychange-only';

test('the pagehide hooks ended at each call they make: the spans they end (requests in flight, other open spans) are exported once, 1 + generated closes', async (t) => {
  const rand = prng(0x5eed_0417);
  // Calls the run makes with `n` requests in flight: 3 hooks' entries, and
  // setAttribute and end() for each request.
  const cases: Array<{ n: number; others: number; at: number; mode: Mode }> = [];
  for (let i = 0; i < 24; i++) {
    const n = 1 + Math.floor(rand() * 4);
    const others = 1 + Math.floor(rand() * 3);
    const calls = 3 + 2 * n + others;
    for (const mode of ['next-listeners', 'visibilitychange-only'] as const) cases.push({ n, others, at: 1 + Math.floor(rand() * calls), mode });
  }
  // And every point of one shape.
  for (let at = 1; at <= 3 + 2 * 2 + 2; at++) cases.push({ n: 2, others: 2, at, mode: 'next-listeners' });
  let ended = 0;
  for (const { n, others, at, mode } of cases) {
    await t.test(`${n} requests in flight, ${others} other open spans, ended at call ${at}, then ${mode}`, async (tt) => {
      const { c, page } = await pageAndCollector(tt);
      let armed = false;
      let calls = 0;
      const point = (): void => {
        if (armed && ++calls === at) {
          armed = false; // once
          spin();
        }
      };
      // Each pagehide listener runs as its own handler the browser may end.
      if (mode === 'next-listeners') {
        const add0 = page.win.addEventListener.bind(page.win);
        const remove0 = page.win.removeEventListener.bind(page.win);
        const wrapped = new Map<unknown, EventListener>();
        const g = globalThis as unknown as EventTarget;
        Object.defineProperty(g, 'addEventListener', {
          configurable: true,
          value: (type: string, fn: EventListener, o?: AddEventListenerOptions | boolean) => {
            if (type !== 'pagehide') return add0(type, fn, o);
            const w = (e: Event): void => void endable(() => fn(e));
            wrapped.set(fn, w);
            add0(type, w, o);
          },
        });
        Object.defineProperty(g, 'removeEventListener', {
          configurable: true,
          value: (type: string, fn: EventListener, o?: EventListenerOptions | boolean) => remove0(type, wrapped.get(fn) ?? fn, o),
        });
      }
      // The other open spans, as navigation's and interactions' hooks keep them: out of their set once ended.
      const open = new Set<Span>();
      const hooks = [
        () => point(),
        () => {
          point();
          endInflight();
        },
        () => {
          point();
          for (const s of open) {
            point();
            s.end();
            open.delete(s);
          }
        },
      ];
      // Added before delivery's listeners, as prepareBrowser is.
      const off = watchUnload(hooks);
      const a = await tabFor(c.url);
      tt.after(() => a.tracer.shutdown());
      inflight.clear();
      for (let i = 0; i < n; i++) {
        const s = startClientSpan(a.tracer, 'GET', new URL(`http://127.0.0.1:1/api/${i}`), undefined);
        const setAttribute = s.setAttribute.bind(s);
        const end = s.end.bind(s);
        s.setAttribute = (k, v) => (point(), setAttribute(k, v));
        s.end = (when) => (point(), end(when));
        inflight.add(s);
      }
      for (let i = 0; i < others; i++) open.add(a.tracer.startSpan(`open-${i}`));
      armed = true;
      // next-listeners: each listener is run as one the browser may end (not nested in another: V8 would end both);
      // visibilitychange-only: the whole dispatch is.
      if (mode === 'next-listeners') page.win.dispatchEvent(new Event('pagehide'));
      else assert.ok(endable(() => page.win.dispatchEvent(new Event('pagehide'))), 'the dispatch was ended');
      assert.equal(armed, false, 'the run reached the point where it is ended');
      ended++;
      hide(page);
      const total = n + others;
      await c.waitFor(() => received(c).user.length >= total, 15_000).catch(() => undefined);
      await sleep(100); // room for a copy to show up
      const user = received(c).user;
      assert.equal(uniqueIds(user), total, `every span delivered (${uniqueIds(user)}/${total})`);
      assert.equal(user.length, total, `none twice (${user.length} deliveries)`);
      const unfinished = user.filter((s) => attrs(s.attributes)['wasmtrace.unfinished'] === true).length;
      assert.equal(unfinished, n, 'each request in flight marked unfinished');
      assert.equal(inflight.size, 0);
      off();
    });
  }
  assert.equal(ended, cases.length);
});

test('watchUnload: a hide with no pagehide runs nothing; a hook that throws does not stop the others; pageshow starts the next pagehide over', async (t) => {
  const { page } = await pageAndCollector(t);
  const runs: string[] = [];
  const off = watchUnload([() => runs.push('a'), () => {
    throw new Error('hook');
  }, () => runs.push('c')]);
  hide(page); // a tab switch
  assert.deepEqual(runs, []);
  page.doc.visibilityState = 'visible';
  page.win.dispatchEvent(new Event('pagehide'));
  assert.deepEqual(runs, ['a', 'c']);
  hide(page);
  page.win.dispatchEvent(new Event('pagehide'));
  assert.deepEqual(runs, ['a', 'c'], 'once per pagehide');
  page.win.dispatchEvent(new Event('pageshow'));
  page.win.dispatchEvent(new Event('pagehide'));
  assert.deepEqual(runs, ['a', 'c', 'a', 'c']);
  off();
});

test('an interaction the hooks force to end, ended inside its end: the hooks run again end it, once', () => {
  const span = {};
  let ends = 0;
  let armed = true;
  track(span, () => {
    if (armed) {
      armed = false;
      spin();
    }
    ends++;
  });
  assert.ok(endable(() => forceEnd(span)), 'ended inside');
  assert.equal(ends, 0);
  forceEnd(span);
  assert.equal(ends, 1, 'ended by the run again');
  forceEnd(span);
  assert.equal(ends, 1, 'not twice');
});

test('a span ended inside its own end() (before Wasm has it) is ended by the run again, and exported once', async (t) => {
  const { c } = await pageAndCollector(t);
  const a = await tabFor(c.url);
  t.after(() => a.tracer.shutdown());
  // The end time is read before Wasm ends the span: a Date whose getTime is where the handler is ended.
  let armed = true;
  class Stop extends Date {
    override getTime(): number {
      if (armed) {
        armed = false;
        spin();
      }
      return super.getTime();
    }
  }
  const s = a.tracer.startSpan('ended-inside');
  assert.ok(endable(() => s.end(new Stop())), 'ended inside end()');
  assert.equal(s.isRecording(), true, 'still open: Wasm never had the end');
  s.end(); // the hooks run again
  assert.equal(s.isRecording(), false);
  s.end(); // and once more: nothing
  await a.tracer.flush();
  await sleep(50);
  const user = received(c).user.filter((x) => x.name === 'ended-inside');
  assert.equal(user.length, 1, `exported once (${user.length})`);
});

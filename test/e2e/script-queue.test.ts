// In real browsers: the script tag's spans started before the Wasm is ready
// are replayed once it is, up to a bound; a page that starts spans in a loop
// before then keeps bounded memory (the rest record nothing) and sees no error.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inBothBrowsers, openPage, type AnyPage } from '../helpers/browser.js';
import { startCollector, startStaticServer } from '../helpers/collector.js';
import { startApi, type Api } from './sdk-env.js';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist');
const files = { script: readFileSync(join(dist, 'wasmtrace.js')), wasm: readFileSync(join(dist, 'wasmtrace.wasm')) };
/** The script tag's two files, as a site serves them. */
const tagFiles = {
  '/wasmtrace.js': { body: files.script, type: 'text/javascript' },
  '/wasmtrace.wasm': { body: files.wasm, type: 'application/wasm' },
};

/** Spans the page starts (and ends) synchronously, right after the tag: before the Wasm can be ready. */
const STARTED = 5000;
/** The bound src/browser/script.ts keeps (MAX_DEFERRED). */
const BOUND = 2048;

async function boundedBeforeReady(newPage: () => Promise<AnyPage>): Promise<void> {
  const c = await startCollector({ cors: { origins: '*' } });
  const site = await startStaticServer({
    routes: {
      '/index.html': `<!doctype html><title>queue</title>
        <script src="/wasmtrace.js" data-service-name="queue" data-endpoint="${c.url}" data-disable="webVitals,longTasks,documentLoad,resources,interactions"></script>
        <script>
          window.early = [];
          for (let i = 0; i < ${STARTED}; i++) {
            const s = wasmtrace.startSpan('early-' + i);
            s.setAttribute('i', i);
            window.early.push(s.isRecording());
            s.end();
          }
        </script>`,
      ...tagFiles,
    },
  });
  try {
    const { page, errors } = await openPage(newPage, site.url);
    const r = (await page.evaluate(`(async () => {
      const tracer = await window.wasmtrace.ready;
      await tracer.flush();
      return { recording: window.early.filter(Boolean).length, firstNot: window.early.indexOf(false), stats: tracer.stats() };
    })()`)) as { recording: number; firstNot: number; stats: { droppedSpans: number } };
    assert.deepEqual(errors, []);
    assert.equal(r.recording, BOUND, 'spans started before ready up to the bound are kept');
    assert.equal(r.firstNot, BOUND, 'the ones after it record nothing');
    // The kept ones are replayed and exported, every one (the replay's burst leaves Wasm's pool for the queue).
    await c.waitFor(() => c.spans().filter((s) => s.name.startsWith('early-')).length >= BOUND, 10_000);
    const names = new Set(c.spans().filter((s) => s.name.startsWith('early-')).map((s) => s.name));
    assert.equal(names.size, BOUND);
    assert.ok([...names].every((n) => Number(n.slice(6)) < BOUND), 'only spans within the bound are exported');
    assert.equal(r.stats.droppedSpans, 0);
  } finally {
    await Promise.all([c.close(), site.close()]);
  }
}

inBothBrowsers('spans started before the Wasm is ready: replayed up to 2,048, the rest record nothing', boundedBeforeReady);

/**
 * A deferred span keeps what it was given when it was given (an app that
 * reuses its attributes object changes nothing recorded), and its end()
 * however many calls came before it.
 */
async function recordedAsCalled(newPage: () => Promise<AnyPage>): Promise<void> {
  const c = await startCollector({ cors: { origins: '*' } });
  const site = await startStaticServer({
    routes: {
      '/index.html': `<!doctype html><title>as called</title>
        <script src="/wasmtrace.js" data-service-name="as-called" data-endpoint="${c.url}" data-disable="webVitals,longTasks,documentLoad,resources,interactions"></script>
        <script>
          const attrs = { step: 'one', list: ['a'] };
          const link = { context: { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1 }, attributes: { why: 'first' } };
          const s = wasmtrace.startSpan('shared', { attributes: attrs, links: [link] });
          s.setAttributes(attrs);
          s.addEvent('ev', attrs);
          attrs.step = 'two';
          attrs.list.push('b');
          link.attributes.why = 'changed';
          s.setAttribute('later', attrs.step);
          s.end();
          const many = wasmtrace.startSpan('many-calls');
          for (let i = 0; i < 300; i++) many.setAttribute('k' + (i % 10), i);
          many.end();
          many.setAttribute('after-end', true);
        </script>`,
      ...tagFiles,
    },
  });
  try {
    const page = await newPage();
    await page.goto(site.url);
    await page.evaluate(`window.wasmtrace.ready.then((t) => t.flush())`);
    await c.waitFor(() => ['shared', 'many-calls'].every((n) => c.spans().some((s) => s.name === n)), 10_000);
    const shared = c.spans().find((s) => s.name === 'shared')!;
    const values = (kvs: typeof shared.attributes) => Object.fromEntries(kvs.map((a) => [a.key, JSON.stringify(a.value)]));
    assert.deepEqual(values(shared.attributes), {
      step: JSON.stringify({ stringValue: 'one' }),
      list: JSON.stringify({ arrayValue: { values: [{ stringValue: 'a' }] } }),
      later: JSON.stringify({ stringValue: 'two' }),
    });
    assert.equal(values(shared.events[0]!.attributes).step, JSON.stringify({ stringValue: 'one' }));
    assert.equal(values(shared.links[0]!.attributes).why, JSON.stringify({ stringValue: 'first' }));
    const many = c.spans().find((s) => s.name === 'many-calls')!;
    assert.equal(many.attributes.length, 10, 'the first 256 calls are kept, and the end');
    assert.ok(!many.attributes.some((a) => a.key === 'after-end'));
  } finally {
    await Promise.all([c.close(), site.close()]);
  }
}

inBothBrowsers('before ready: what a span is given is recorded as it was when given, and its end() is kept after many calls', recordedAsCalled);

/** A remote parent the page reads before ready (as from a server's response). */
const REMOTE = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };

/** The page's script right after the tag: everything runs before the Wasm can be ready. */
const BEFORE_READY = `
  const w = window.wasmtrace;
  const out = (window.out = {});
  let ready = false;
  w.ready.then(() => (ready = true));
  const xhr = (url) => { const x = new XMLHttpRequest(); x.open('GET', url); x.send(); };
  out.before = w.getBaggage();
  w.withBaggage({ tier: 'gold plus', n: '1' }, () => {
    out.inside = w.getBaggage();
    const parent = (window.parentSpan = w.startSpan('parent'));
    out.parent = parent.spanContext();
    w.withSpan(parent, () => {
      out.active = w.getActiveSpan() === parent;
      w.startSpan('child').end();
      const h = {};
      w.inject(h);
      out.injected = h;
      fetch(API + '/data?step=early-fetch');
      xhr(API + '/data?step=early-xhr');
      fetch(OTHER + '/data?step=early-other');
    });
    w.startSpan('explicit', {}, parent).end();
    w.withBaggage(null, () => w.startSpan('no-baggage', {}, parent).end());
    w.startActiveSpan('active', (s) => {
      w.startSpan('grandchild').end();
      s.end();
    });
    parent.end();
  });
  out.after = w.getBaggage();
  const remote = w.extract({ traceparent: '00-${REMOTE.traceId}-${REMOTE.spanId}-01', baggage: 'from=server' });
  w.startSpan('remote-child', {}, remote).end();
  w.withSpan(remote, () => fetch(API + '/data?step=remote-fetch'));
  window.remote = remote;
  // Input whose getters throw: reported, not thrown, as by the tracer after ready.
  const evil = new Proxy({}, { get() { throw new Error('evil'); } });
  out.evil = [w.startSpan('evil-options', evil).isRecording(), w.startSpan('evil-parent', {}, evil).isRecording(), w.withSpan(evil, () => 'ran'), w.inject({}, evil)];
  out.wasReady = ready;
`;

async function contextBeforeReady(newPage: () => Promise<AnyPage>): Promise<void> {
  const c = await startCollector({ cors: { origins: '*' } });
  const apis: { api?: Api; other?: Api } = {};
  const site = await startStaticServer({
    routes: {
      '/index.html': () => ({
        type: 'text/html',
        body: `<!doctype html><title>before ready</title>
          <script src="/wasmtrace.js" data-service-name="pre" data-endpoint="${c.url}" data-compression="none" data-propagate-to="${apis.api!.origin}"
            data-disable="webVitals,longTasks,documentLoad,resources,interactions"></script>
          <script>const API = ${JSON.stringify(apis.api!.origin)}, OTHER = ${JSON.stringify(apis.other!.origin)};${BEFORE_READY}</script>`,
      }),
      ...tagFiles,
    },
  });
  apis.api = await startApi(site.origin);
  apis.other = await startApi(site.origin);
  try {
    const { page, errors } = await openPage(newPage, site.url);
    const r = (await page.evaluate(`(async () => {
      const t = await window.wasmtrace.ready;
      // After ready, the deferred span and the early context stand for what they became.
      const h = {};
      wasmtrace.inject(h, window.parentSpan);
      const r = {};
      wasmtrace.inject(r, window.remote);
      wasmtrace.startSpan('after-ready', {}, window.parentSpan).end();
      await t.flush();
      return { ...window.out, afterInject: h, remoteInject: r };
    })()`)) as Record<string, unknown> & { parent: { traceId: string; spanId: string }; injected: Record<string, string>; afterInject: Record<string, string>; remoteInject: Record<string, string> };
    assert.deepEqual(errors, []);
    assert.equal(r.wasReady, false, 'the page script ran before ready');
    assert.deepEqual(r.evil, [false, false, 'ran', undefined]);
    assert.deepEqual(r.before, {});
    assert.deepEqual(r.inside, { tier: 'gold plus', n: '1' }, 'getBaggage before ready');
    assert.deepEqual(r.after, {});
    assert.equal(r.active, true, 'getActiveSpan inside withSpan before ready');
    const { traceId, spanId } = r.parent;
    assert.match(traceId, /^[\da-f]{32}$/);
    assert.notEqual(traceId, '0'.repeat(32), 'a deferred span has its ids at once');
    const baggage = 'tier=gold%20plus,n=1';
    assert.deepEqual(r.injected, { traceparent: `00-${traceId}-${spanId}-01`, baggage }, 'inject before ready: the active deferred span and the baggage');
    assert.deepEqual(r.afterInject, { traceparent: `00-${traceId}-${spanId}-01`, baggage }, 'after ready: the same span, with its baggage');
    assert.deepEqual(r.remoteInject, { traceparent: `00-${REMOTE.traceId}-${REMOTE.spanId}-01`, baggage: 'from=server' });

    await c.waitFor(() => ['grandchild', 'after-ready', 'remote-child'].every((n) => c.spans().some((s) => s.name === n)) && c.spans().filter((s) => s.kind === 3).length >= 4, 10_000);
    const spans = c.spans();
    const one = (name: string) => {
      const found = spans.filter((s) => s.name === name);
      assert.equal(found.length, 1, `one ${name} span`);
      return found[0]!;
    };
    const parent = one('parent');
    assert.deepEqual([parent.traceId, parent.spanId, parent.parentSpanId], [traceId, spanId, ''], 'the deferred span is exported with the ids it gave out');
    for (const name of ['child', 'explicit', 'no-baggage', 'after-ready']) {
      const s = one(name);
      assert.deepEqual([s.traceId, s.parentSpanId], [traceId, spanId], `${name} is the parent's child`);
    }
    const active = one('active');
    assert.notEqual(active.traceId, traceId, 'startActiveSpan outside withSpan: a new trace');
    assert.deepEqual([one('grandchild').traceId, one('grandchild').parentSpanId], [active.traceId, active.spanId], 'startActiveSpan before ready makes its span active');
    const remoteChild = one('remote-child');
    assert.deepEqual([remoteChild.traceId, remoteChild.parentSpanId], [REMOTE.traceId, REMOTE.spanId]);

    // Early requests: the trace headers and baggage of the context they were sent in; their spans its children.
    const request = (api: Api | undefined, step: string) => {
      const found = api?.requests.find((q) => q.path.endsWith(`step=${step}`));
      assert.ok(found, `${step} reached its server`);
      return found.headers;
    };
    for (const step of ['early-fetch', 'early-xhr']) {
      const h = request(apis.api, step);
      assert.equal(h.baggage, baggage, `${step}: the baggage in effect`);
      const [, t, s] = String(h.traceparent).split('-');
      assert.equal(t, traceId, `${step}: in the deferred span's trace`);
      const span = spans.find((x) => x.spanId === s);
      assert.ok(span, `${step}: its span is exported`);
      assert.equal(span.parentSpanId, spanId, `${step}: a child of the active deferred span`);
    }
    const other = request(apis.other, 'early-other');
    assert.equal(other.baggage, undefined, 'not propagated to: no baggage');
    assert.equal(other.traceparent, undefined);
    const remoteFetch = request(apis.api, 'remote-fetch');
    assert.equal(remoteFetch.baggage, 'from=server');
    assert.equal(String(remoteFetch.traceparent).split('-')[1], REMOTE.traceId);
  } finally {
    await Promise.all([c.close(), site.close(), apis.api.close(), apis.other.close()]);
  }
}

inBothBrowsers('before ready: withBaggage, getBaggage, deferred spans as parents, inject/extract, early requests in their context', contextBeforeReady);

/** A stub set up before an async tag, with one entry of each kind the rule names. */
const STUB = `<script>
  window.t0 = Date.now(); // (a unix time before the page's time origin would read as a performance.now() value)
  window.wasmtrace = { q: [] };
  wasmtrace.q.push(['startSpan', 'never-ended']);
  wasmtrace.q.push(['startActiveSpan', 'boot', { startTime: t0 }, (span) => {
    window.bootActive = wasmtrace.getActiveSpan() === span;
    wasmtrace.startSpan('boot-child').end();
    span.end();
  }]);
  wasmtrace.q.push(['withBaggage', { from: 'queue' }, () => (window.queuedBaggage = wasmtrace.getBaggage())]);
  wasmtrace.q.push(['ready', (tracer) => (window.readyArg = tracer)]);
  wasmtrace.q.push(['no-such-method', 1]);
  wasmtrace.q.push(['startActiveSpan', 'throws', () => { throw new Error('the page\\'s own'); }]);
  wasmtrace.q.push(['startActiveSpan', 'after-throw', (span) => span.end()]);
  while (Date.now() < t0 + 50); // the tag runs at least 50 ms after the call was queued
</script>`;

async function stubQueue(newPage: () => Promise<AnyPage>): Promise<void> {
  const c = await startCollector({ cors: { origins: '*' } });
  const site = await startStaticServer({
    routes: {
      '/index.html': `<!doctype html><title>stub</title>${STUB}
        <script async src="/wasmtrace.js" data-service-name="stub" data-endpoint="${c.url}" data-disable="webVitals,longTasks,documentLoad,resources,interactions"></script>`,
      ...tagFiles,
    },
  });
  try {
    const { page, errors } = await openPage(newPage, site.url);
    const r = (await page.evaluate(`(async () => {
      const tracer = await window.wasmtrace.ready;
      await tracer.flush();
      return { readyArg: window.readyArg === tracer, bootActive: window.bootActive, queuedBaggage: window.queuedBaggage, t0: window.t0 };
    })()`)) as { readyArg: boolean; bootActive: boolean; queuedBaggage: unknown; t0: number };
    assert.deepEqual(errors, [], "a queued callback's own exception does not reach the page");
    assert.deepEqual({ ...r, t0: 0 }, { readyArg: true, bootActive: true, queuedBaggage: { from: 'queue' }, t0: 0 });
    await c.waitFor(() => ['boot', 'boot-child', 'after-throw'].every((n) => c.spans().some((s) => s.name === n)), 10_000);
    const boot = c.spans().find((s) => s.name === 'boot')!;
    const bootMs = Number(BigInt(boot.startTimeUnixNano) / 1_000_000n);
    // Firefox clamps both clocks (the SDK maps unix times through the time origin): a few ms of slack; the tag ran 50 ms later.
    assert.ok(Math.abs(bootMs - r.t0) <= 5, `the startTime the stub gave: ${bootMs} for ${r.t0}`);
    assert.equal(c.spans().find((s) => s.name === 'boot-child')?.parentSpanId, boot.spanId);
  } finally {
    await Promise.all([c.close(), site.close()]);
  }
}

inBothBrowsers("a stub's queue: ['ready', fn] and callback methods run when the tag does, the page's own exceptions contained", stubQueue);

/**
 * Times before ready: an event or end given a time (a Date, unix ms, an
 * HrTime, a performance.now() value) keeps it, with or without attributes;
 * one given none gets the time of the call, not of the replay (generated).
 */
async function timesBeforeReady(newPage: () => Promise<AnyPage>): Promise<void> {
  const c = await startCollector({ cors: { origins: '*' } });
  const site = await startStaticServer({
    routes: {
      '/index.html': `<!doctype html><title>times</title>
        <script src="/wasmtrace.js" data-service-name="times" data-endpoint="${c.url}" data-disable="webVitals,longTasks,documentLoad,resources,interactions"></script>
        <script>
          let seed = 4711;
          const r = () => (seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32;
          const clock = () => performance.timeOrigin + performance.now();
          window.want = [];
          for (let i = 0; i < 40; i++) {
            const s = wasmtrace.startSpan('timed-' + i);
            for (let j = 0; j < 3; j++) {
              const at = clock() - r() * performance.now(); // in the past, after the time origin (a performance.now() value is not negative)
              const forms = [new Date(Math.floor(at)), Math.floor(at), [Math.floor(at / 1e3), Math.round((at / 1e3 - Math.floor(at / 1e3)) * 1e9)], at - performance.timeOrigin, undefined];
              const k = Math.floor(r() * forms.length);
              const given = forms[k];
              const withAttrs = r() < 0.5;
              const before = clock();
              if (withAttrs) s.addEvent('e' + j, { j }, given);
              else if (given === undefined) s.addEvent('e' + j);
              else s.addEvent('e' + j, given);
              want.push({ span: i, name: 'e' + j, at: given === undefined ? [before, clock()] : k < 2 ? Math.floor(at) : at });
            }
            s.end();
          }
        </script>`,
      ...tagFiles,
    },
  });
  try {
    const page = await newPage();
    await page.goto(site.url);
    const want = (await page.evaluate(`window.wasmtrace.ready.then((t) => t.flush()).then(() => window.want)`)) as Array<{ span: number; name: string; at: number | [number, number] }>;
    await c.waitFor(() => c.spans().filter((s) => s.name.startsWith('timed-')).length === 40, 10_000);
    const ms = (nanos: string): number => Number(BigInt(nanos) / 1000n) / 1000;
    for (const w of want) {
      const ev = c.spans().find((s) => s.name === `timed-${w.span}`)!.events.find((e) => e.name === w.name)!;
      const got = ms(ev.timeUnixNano);
      if (Array.isArray(w.at)) assert.ok(got >= w.at[0] - 0.01 && got <= w.at[1] + 0.01, `span ${w.span} ${w.name}: at the call (${got - w.at[0]} ms after it)`);
      else assert.ok(Math.abs(got - w.at) < 0.01, `span ${w.span} ${w.name}: at the time given (${got - w.at} ms off)`);
    }
  } finally {
    await Promise.all([c.close(), site.close()]);
  }
}

inBothBrowsers('before ready: an event keeps the time it is given (Date, unix ms, HrTime, performance.now()), or gets that of the call', timesBeforeReady);

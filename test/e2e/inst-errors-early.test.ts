// Errors and rejections a page has before the SDK is ready (its Wasm held
// back by the server until the page has had them), with the script tag and
// with init() from the ESM build: each is exported as it would be after
// ready — the same span, attributes, exception event and status, through the
// same repeats and per-minute limits — at the time it happened, once; at most
// 32 are kept (the rest are counted as dropped). With the errors
// instrumentation off, none is. Real Chromium and Firefox ESR; generated
// values and counts.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import type { FlatSpan } from '../helpers/otlp.js';
import { attrs } from '../helpers/otlp.js';
import type { Driver } from './sdk-env.js';
import { startServers, type Servers } from './transparency-env.js';
import { inBoth, pick, prng } from './net-env.js';

let s: Servers;
before(async () => (s = await startServers()));
after(() => s.close());

/** The bounds of src/browser/early.ts (MAX_EARLY_ERRORS) and errors.ts (MAX_ERRORS_PER_MINUTE). */
const KEPT = 32;
const PER_MINUTE = 30;

const KINDS = ['error', 'type', 'string', 'object', 'null', 'repeat'] as const;
/** `after`: in the page of errors before ready, one it has after ready (the hand-over: recorded once). */
interface Case { i: number; tag: string; kind: (typeof KINDS)[number]; how: 'throw' | 'reject'; after?: boolean }

const NAME = { throw: 'error', reject: 'unhandledrejection' } as const;

/** Errors with the same key are one error to errors.ts (same type, message and place): null, and 'repeat', by how they came. */
const keyOf = (c: Case): string => (c.kind === 'null' || c.kind === 'repeat' ? `${c.kind} ${NAME[c.how]}` : c.tag);

/** A span's key: its tag, else the repeated value it is of. */
function spanKey(sp: FlatSpan, cases: Case[]): string {
  const c = cases.find((x) => sp.status.message.includes(x.tag));
  if (c) return c.tag;
  return `${sp.status.message.includes('repeat') ? 'repeat' : 'null'} ${sp.name}`;
}

/**
 * What errors.ts exports for `keys` (in the order the page had them, and
 * whether before ready; those before ready beyond `kept` only counted): the
 * first occurrence of each key it records, its repeats, and the number dropped.
 */
function model(keys: Array<[key: string, early: boolean]>, kept: number): { recorded: string[]; repeats: Map<string, number>; dropped: number } {
  const recorded: string[] = [];
  const repeats = new Map<string, number>();
  let dropped = 0;
  let early = 0;
  keys.forEach(([k, before]) => {
    if (before && early++ >= kept) dropped++;
    else if (repeats.has(k)) repeats.set(k, repeats.get(k)! + 1);
    else if (recorded.length >= PER_MINUTE) dropped++;
    else recorded.push(k), repeats.set(k, 0);
  });
  return { recorded, repeats, dropped };
}

/** How the page starts the SDK: the script tag, or init() from the ESM build in a module script. */
type Variant = 'tag' | 'esm';

/**
 * The SDK's start in `variant`, with the instrumentations besides errors off,
 * and the page's expression for its ready promise. init() is called twice,
 * the second time with errors the other way: the first call's options stand.
 */
function sdk(variant: Variant, service: string, errors: boolean): [html: string, ready: string] {
  const others = ['interactions', 'webVitals', 'longTasks', 'documentLoad', 'resources', 'navigation', 'fetch', 'xhr'];
  const off = [...others, ...(errors ? [] : ['errors'])];
  if (variant === 'tag') return [`<script src="/wasmtrace.js" data-service-name="${service}" data-endpoint="${s.collector.url}" data-scheduled-delay-ms="100" data-disable="${off.join(',')}"></script>`, 'wasmtrace.ready'];
  const options = (on: boolean): unknown => ({ serviceName: service, endpoint: s.collector.url, scheduledDelayMs: 100, instrumentations: Object.fromEntries([...others, ...(on ? [] : ['errors'])].map((k) => [k, false])) });
  return [`<script type="module">import { init } from '/browser.js'; window.sdkReady = init(${JSON.stringify(options(errors))}); init(${JSON.stringify(options(!errors))});</script>`, 'window.sdkReady'];
}

/**
 * The page: the SDK, then each case in a task of its own, made and thrown (or rejected) from the same frames in either phase.
 * The cases start from a module script: after the ESM variant's init() (module scripts run in order), right after the tag's task.
 */
function page(variant: Variant, service: string, cases: Case[], phase: 'early' | 'ready', errors: boolean): string {
  const [start, ready] = sdk(variant, service, errors);
  return `<!doctype html><title>early errors</title><link rel="icon" href="data:,">
${start}
<script>
const now = () => performance.timeOrigin + performance.now();
const log = [];
const promises = new Map();
let current;
let readyAt;
let tracer;
const make = (c) => c.kind === 'error' ? new Error('e ' + c.tag) : c.kind === 'type' ? new TypeError('t ' + c.tag)
  : c.kind === 'string' ? 's ' + c.tag : c.kind === 'object' ? { [Symbol.toStringTag]: c.tag, message: 'o ' + c.tag }
  : c.kind === 'repeat' ? new Error('repeat') : null;
function fire(c) {
  current = c;
  c.at = now();
  const v = make(c);
  if (c.how === 'reject') promises.set(Promise.reject(v), c);
  else throw v;
}
const stackOf = (v) => (v && typeof v.stack === 'string' ? v.stack : null);
/** The page's own listeners, added after the SDK's (they hear an error after it): each error as the page had it, when, and whether the SDK was ready. */
function listenPage() {
  addEventListener('error', (e) => log.push([current ? current.i : -1, now(), readyAt !== undefined, stackOf(e.error)]));
  addEventListener('unhandledrejection', (e) => log.push([promises.has(e.promise) ? promises.get(e.promise).i : -1, now(), readyAt !== undefined, stackOf(e.reason)]));
  addEventListener('pagehide', () => tracer.startSpan('bye').end());
}
/** The least step performance.now() moves by. */
function step() {
  let min = Infinity, last = performance.now();
  for (let k = 0; k < 20;) { const t = performance.now(); if (t !== last) { min = Math.min(min, t - last); last = t; k++; } }
  return min;
}
/** Fires the cases, each in a task of its own, and waits until the page has had that many errors in all. */
async function fireAll(cases, total) {
  for (const c of cases) setTimeout(fire, 0, c);
  const t = Date.now();
  while (log.length < total && Date.now() - t < 10000) await new Promise((r) => setTimeout(r, 20));
}
async function go(ready, cases, phase) {
  ready.then((t) => ((readyAt = now()), (tracer = t)));
  // Both phases fire the cases after an await: the same async stack (Firefox records the setTimeout call's).
  await (phase === 'ready' ? ready : null);
  const first = phase === 'ready' ? cases : cases.filter((c) => !c.after);
  await fireAll(first, first.length);
  if (phase === 'early') {
    await fetch('/release');
    await ready;
    await fireAll(cases.filter((c) => c.after), cases.length);
  }
  await ready;
  tracer.startSpan('marker').end();
  await tracer.flush();
  return { log, at: cases.map((c) => c.at), readyAt, step: step() };
}
</script>
<script type="module">listenPage(); window.done = go(${ready}, ${JSON.stringify(cases)}, ${JSON.stringify(phase)});</script>`;
}

interface Result {
  /** Per error the page had: its case, when its listener heard it, whether the SDK was ready, its value's stack. */
  log: Array<[number, number, boolean, string | null]>;
  at: number[];
  readyAt: number;
  step: number;
  /** Exported before the page closed, and at its pagehide. */
  spans: FlatSpan[];
  atHide: FlatSpan[];
}

let pages = 0;

/** Loads the page of `variant` for `phase` in a new tab, takes what it had, and what it sends at pagehide. */
async function load(d: Driver, variant: Variant, cases: Case[], phase: 'early' | 'ready', errors = true): Promise<Result> {
  const service = `early-errors-${variant}-${d.name}-${++pages}`;
  s.page(page(variant, service, cases, phase, errors));
  if (phase === 'ready') await fetch(`${s.site}/release`);
  const ofPage = (): FlatSpan[] => s.collector.spans().filter((sp) => sp.resource['service.name'] === service);
  const tab = await d.newTab();
  await tab.goto(`${s.site}/t.html`);
  const r = await tab.eval<Omit<Result, 'spans' | 'atHide'>>('window.done');
  await s.collector.waitFor(() => ofPage().some((sp) => sp.name === 'marker'), 15_000);
  const spans = ofPage().filter((sp) => sp.name !== 'marker');
  // The SDK's pagehide (repeats and drops are sent then) with the page still there: a closing tab's last
  // request is the browser's to finish or not, and Firefox's did not always arrive.
  await tab.eval(`dispatchEvent(new PageTransitionEvent('pagehide')), true`);
  await s.collector.waitFor(() => ofPage().some((sp) => sp.name === 'bye'), 15_000);
  await tab.close();
  const atHide = ofPage().filter((sp) => !spans.some((x) => x.spanId === sp.spanId) && sp.name !== 'marker' && sp.name !== 'bye');
  return { ...r, spans, atHide };
}

const ms = (nanos: string): number => Number(BigInt(nanos) / 1000n) / 1000;
const exceptionOf = (sp: FlatSpan): Record<string, unknown> => attrs(sp.events.find((e) => e.name === 'exception')?.attributes ?? []);
/** Attributes, integers as numbers (OTLP/JSON's int64 is a string). */
const A = (sp: FlatSpan): Record<string, unknown> => Object.fromEntries(Object.entries(attrs(sp.attributes)).map(([k, v]) => [k, typeof v === 'string' && /^\d+$/.test(v) && k.startsWith('wasmtrace.') ? Number(v) : v]));
/** What must be the same for an error before ready and after: all but its times and ids. */
const shape = (sp: FlatSpan): string => {
  const e = exceptionOf(sp);
  // Firefox gave a stack's async part (`setTimeout handler*fireAll@…` and the frames below) in the page after ready, not in the one before: not compared.
  if (typeof e['exception.stacktrace'] === 'string') e['exception.stacktrace'] = e['exception.stacktrace'].replace(/^[^@\n]*\*[^]*/m, '');
  return JSON.stringify([sp.name, A(sp), sp.status, e, sp.events.map((x) => x.name)]);
};

/** Checks one phase's export against the model of errors.ts for the order the page had its errors in; returns the first occurrences by key. */
function check(label: string, r: Result, cases: Case[], kept: number): Map<string, FlatSpan> {
  assert.equal(r.log.length, cases.length, `${label}: the page had every error`);
  const keys = r.log.map(([i, , late]): [string, boolean] => [keyOf(cases[i]!), !late]);
  const want = model(keys, kept);
  const first = new Map<string, FlatSpan>();
  for (const sp of r.spans) {
    const k = spanKey(sp, cases);
    assert.ok(!first.has(k), `${label}: ${k} exported once`);
    first.set(k, sp);
  }
  assert.deepEqual([...first.keys()].sort(), [...want.recorded].sort(), `${label}: the errors recorded`);
  const hidden = r.atHide.map((sp) => [sp.name, A(sp)['wasmtrace.repeats'] ?? null, A(sp)['wasmtrace.errors_dropped'] ?? null, 'wasmtrace.repeats' in A(sp) ? spanKey(sp, cases) : '']);
  const wantHidden = [
    ...[...want.repeats].filter(([, n]) => n > 0).map(([k, n]) => [first.get(k)!.name, n, null, k]),
    ...(want.dropped ? [['error', null, want.dropped, '']] : []),
  ];
  const order = (xs: unknown[][]): string[] => xs.map((x) => JSON.stringify(x)).sort();
  assert.deepEqual(order(hidden), order(wantHidden), `${label}: repeats and drops sent at pagehide`);
  return first;
}

const N_COUNTS = 4;
/** The generated cases in pages of `variant`, each count before ready and after, then errors off; `seed` per browser. */
async function errorsBeforeReady(d: Driver, variant: Variant, seed: number): Promise<void> {
  const r = prng(seed);
  const word = (): string => Array.from({ length: 6 }, () => String.fromCharCode(97 + Math.floor(r() * 26))).join('');
  const counts = [1 + Math.floor(r() * 3), 5 + Math.floor(r() * 10), 18 + Math.floor(r() * 10), KEPT + 3 + Math.floor(r() * 15)];
  for (const count of counts) {
    const cases: Case[] = Array.from({ length: count + 3 }, (_, i) => ({ i, tag: `T${i}${word()}`, kind: pick(r, KINDS), how: r() < 0.5 ? 'throw' : 'reject', after: i >= count }));
    const label = `${count} errors`;
    const early = await load(d, variant, cases, 'early');
    const ready = await load(d, variant, cases, 'ready');
    assert.ok(early.log.every(([i, , late]) => i >= 0 && late === !!cases[i]!.after), `${label}: every error came before ready (3 after), and the page knew which it was`);
    assert.ok(ready.log.every(([i, , late]) => i >= 0 && late), `${label}: every error came after ready in the ready page`);
    const before = check(`${label}, before ready`, early, cases, KEPT);
    const afterReady = check(`${label}, after ready`, ready, cases, Infinity);
    // Times: when it happened (between the throw and the page's own listener), not when replayed.
    const firstSeen = new Map<string, [i: number, heard: number, stack: string | null]>();
    for (const [i, t, , stack] of early.log) if (!firstSeen.has(keyOf(cases[i]!))) firstSeen.set(keyOf(cases[i]!), [i, t, stack]);
    const slack = early.step + 0.002;
    let compared = 0;
    for (const [k, sp] of before) {
      const [i, heard, stack] = firstSeen.get(k)!;
      if (cases[i]!.after) continue;
      assert.equal(exceptionOf(sp)['exception.stacktrace'], stack ?? undefined, `${label}: ${k}'s stack as the page had it`);
      const [start, end, event] = [ms(sp.startTimeUnixNano), ms(sp.endTimeUnixNano), ms(sp.events.find((e) => e.name === 'exception')!.timeUnixNano)];
      assert.ok(start >= early.at[i]! - slack && start <= heard + slack, `${label}: ${k} at ${start}, between ${early.at[i]} and ${heard}`);
      assert.equal(end, start, `${label}: ${k} ends when it starts`);
      assert.equal(event, start, `${label}: ${k}'s exception event when it happened`);
      assert.ok(start < early.readyAt, `${label}: ${k} before ready (${early.readyAt})`);
      const same = afterReady.get(k);
      // Not recorded after ready only when the minute's limit was reached there first.
      if (!same) assert.equal(afterReady.size, PER_MINUTE, `${label}: ${k} recorded after ready too`);
      else assert.equal(shape(sp), shape(same), `${label}: ${k} as after ready`), compared++;
    }
    assert.ok(compared > 0, `${label}: compared with after ready`);
  }
  // Errors off: nothing kept before ready, nothing recorded after.
  const cases: Case[] = Array.from({ length: 6 }, (_, i) => ({ i, tag: `T${i}${word()}`, kind: pick(r, KINDS), how: i % 2 ? 'throw' : 'reject' }));
  const off = await load(d, variant, cases, 'early', false);
  assert.equal(off.log.length, cases.length);
  assert.deepEqual([...off.spans, ...off.atHide].map((sp) => sp.name), [], 'errors off: no error span');
}

const TITLE = `errors and rejections before ready are exported as after ready, at the times they happened, once (generated values, ${N_COUNTS} counts up to past ${KEPT}); none with errors off`;
inBoth(`script tag: ${TITLE}`, (d) => errorsBeforeReady(d, 'tag', d.name === 'chromium' ? 1401 : 1402));
inBoth(`init(): ${TITLE}`, (d) => errorsBeforeReady(d, 'esm', d.name === 'chromium' ? 1501 : 1502));

/**
 * A page whose Wasm is refused (its CSP allows no Wasm compile): the SDK's
 * error listeners on window, added at its start, are all removed once it is
 * ready with a tracer that records nothing; the page's errors before and
 * after are the page's alone, and nothing is exported.
 */
async function noWasm(d: Driver, variant: Variant): Promise<void> {
  const service = `early-errors-nowasm-${variant}-${d.name}`;
  const [start, ready] = sdk(variant, service, true);
  s.page(`<!doctype html><title>no wasm</title><link rel="icon" href="data:,">
<meta http-equiv="Content-Security-Policy" content="script-src 'self' 'unsafe-inline'">
<script>
// Listeners for errors added to window, until removed: the SDK's, as the page's come after the checks below.
const held = new Set();
const add = EventTarget.prototype.addEventListener;
const remove = EventTarget.prototype.removeEventListener;
const ofErrors = (target, type) => target === window && (type === 'error' || type === 'unhandledrejection');
EventTarget.prototype.addEventListener = function (type, fn, o) { if (ofErrors(this, type)) held.add(fn); return add.call(this, type, fn, o); };
EventTarget.prototype.removeEventListener = function (type, fn, o) { if (ofErrors(this, type)) held.delete(fn); return remove.call(this, type, fn, o); };
const fireAll = async () => {
  for (let i = 0; i < 40; i++) setTimeout(() => { if (i % 2) throw new Error('e' + i); Promise.reject(i); }, 0);
  await new Promise((r) => setTimeout(r, 100));
};
</script>
${start}
<script type="module">window.done = (async () => {
  const before = held.size;
  await fireAll();
  await fetch('/release');
  const tracer = await ${ready};
  await new Promise((r) => setTimeout(r, 0));
  const after = held.size;
  await fireAll();
  return { before, after, recording: tracer.startSpan('x').isRecording() };
})();</script>`);
  const tab = await d.newTab();
  try {
    await tab.goto(`${s.site}/t.html`);
    const r = await tab.eval<{ before: number; after: number; recording: boolean }>('window.done');
    assert.deepEqual(r, { before: 2, after: 0, recording: false }, `${variant}: the recorder's two listeners from the start, none once ready without Wasm`);
    await new Promise((res) => setTimeout(res, 300));
    assert.deepEqual(s.collector.spans().filter((sp) => sp.resource['service.name'] === service), [], 'nothing exported');
  } finally {
    await tab.close();
  }
}

inBoth('without Wasm (CSP), the error recorder of the script tag and of init() lets go of its listeners once ready', async (d) => {
  for (const variant of ['tag', 'esm'] as const) await noWasm(d, variant);
});

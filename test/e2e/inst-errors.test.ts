// What the errors instrumentation records for values the page throws or
// rejects with (Chromium): generated values, each checked against what the
// page itself can say about it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attrs } from '../helpers/otlp.js';
import { eventAttrs, initCode, named, rng, startEnv, word } from './inst-env.js';

test('Chromium: errors and rejections whose value cannot be made a string are recorded (24 generated values)', async (t) => {
  const r = rng(8081);
  // Kinds: a null-prototype object, a throwing toString, a throwing Symbol.toPrimitive; each tagged so it is told apart.
  const values = Array.from({ length: 24 }, (_, i) => ({ kind: Math.floor(r() * 3), tag: `T${i}${word(r, 5)}`, how: r() < 0.5 ? 'reject' : 'throw' }));
  const { site, c, newPage } = await startEnv(t, {});
  const page = await newPage();
  await page.goto(site.url);
  await page.evaluate(initCode(c.url, { instrumentations: { interactions: false, webVitals: false, longTasks: false } }));
  await page.evaluate(`(${JSON.stringify(values)}).forEach(({ kind, tag, how }, i) => {
    const v = kind === 0 ? Object.create(null, { [Symbol.toStringTag]: { value: tag } })
      : kind === 1 ? { [Symbol.toStringTag]: tag, toString() { throw new Error('no'); } }
      : { [Symbol.toStringTag]: tag, [Symbol.toPrimitive]() { throw new Error('no'); } };
    if (how === 'reject') Promise.reject(v);
    else setTimeout(() => { throw v; }, i);
  })`);
  const rejects = values.filter((v) => v.how === 'reject').length;
  await c.waitFor(() => named(c, 'unhandledrejection').length === rejects && named(c, 'error').length === values.length - rejects, 10_000);
  for (const v of values) {
    const span = named(c, v.how === 'reject' ? 'unhandledrejection' : 'error').find((s) => s.status.message.includes(v.tag));
    assert.ok(span, `a span for ${v.tag}`);
    assert.equal(span.status.message, `[object ${v.tag}]`);
    assert.equal(span.status.code, 2);
    assert.ok(span.events.some((e) => e.name === 'exception'));
  }
});

test('Chromium: a repeated error is one span plus a count, and new errors past 30 a minute are dropped and counted (generated)', async (t) => {
  const r = rng(9091);
  const distinct = 30 + Math.floor(r() * 10);
  const loopMs = 800 + Math.floor(r() * 1200);
  const { site, c, newPage } = await startEnv(t, {
    '/loop.js': `window.n = 0; window.go = true;
function frame() { if (!go) return; requestAnimationFrame(frame); n++; throw new TypeError('loop broke'); }
requestAnimationFrame(frame);`,
  });
  const page = await newPage();
  await page.goto(site.url);
  await page.evaluate(initCode(c.url, { instrumentations: { interactions: false, webVitals: false, longTasks: false, documentLoad: false, resources: false } }));
  await page.evaluate(`new Promise((res) => { const s = document.createElement('script'); s.src = '/loop.js'; s.onload = res; document.head.append(s); })`);
  await new Promise((res) => setTimeout(res, loopMs));
  const thrown = (await page.evaluate('go = false, n')) as number;
  await page.evaluate(`for (let i = 0; i < ${distinct}; i++) setTimeout(() => { throw new RangeError('distinct ' + i); }, 0)`);
  await new Promise((res) => setTimeout(res, 500));
  await page.close({ runBeforeUnload: true });
  const loop = () => named(c, 'error').filter((s) => s.status.message === 'loop broke');
  const dropped = () => named(c, 'error').find((s) => 'wasmtrace.errors_dropped' in attrs(s.attributes));
  const kept = () => named(c, 'error').filter((s) => s.status.message.startsWith('distinct'));
  // The distinct errors' spans go in an earlier batch than the count and the drops (sent at pagehide), maybe arriving later.
  await c.waitFor(() => loop().length === 2 && !!dropped() && kept().length >= 29, 10_000);
  assert.ok(thrown > 20, `${thrown} frames threw`);
  const [first, repeats] = [loop().find((s) => !('wasmtrace.repeats' in attrs(s.attributes)))!, loop().find((s) => 'wasmtrace.repeats' in attrs(s.attributes))!];
  assert.ok(first && repeats, 'the first occurrence, and the count of the others');
  assert.equal(Number(attrs(repeats.attributes)['wasmtrace.repeats']), thrown - 1);
  assert.equal(attrs(repeats.attributes)['code.file.path'], attrs(first.attributes)['code.file.path']);
  // The loop's error was the minute's first; 29 of the distinct ones follow it, the rest are dropped.
  assert.equal(kept().length, 29);
  assert.equal(Number(attrs(dropped()!.attributes)['wasmtrace.errors_dropped']), distinct - 29);
});

// A hidden page may be discarded without pagehide (a mobile browser's): the
// counts of repeated and dropped errors leave at every hide, each occurrence
// counted once across hides; they were sent only at pagehide, and lost then.
// Chromium headless cannot hide a tab: the page's own visibilityState is set
// and its visibilitychange dispatched, as a hide does.
test('Chromium: repeated and dropped errors are counted at every hide, not only at pagehide, each once (generated counts)', async (t) => {
  const r = rng(5150);
  const rounds = [2 + Math.floor(r() * 20), 2 + Math.floor(r() * 20)];
  const { site, c, newPage } = await startEnv(t, {
    '/rep.js': `window.again = (k) => new Promise((res) => { for (let i = 0; i < k; i++) setTimeout(() => { throw new TypeError('again'); }, 0); setTimeout(res, 50); });
window.setHidden = (hidden) => { Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') }); document.dispatchEvent(new Event('visibilitychange', { bubbles: true })); };`,
  });
  const page = await newPage();
  await page.goto(site.url);
  // No delay's flush: only the hide's own cut can carry the counts (ended after it, they would wait for pagehide).
  await page.evaluate(initCode(c.url, { scheduledDelayMs: 600_000, instrumentations: { interactions: false, webVitals: false, longTasks: false, documentLoad: false, resources: false } }));
  await page.evaluate(`new Promise((res) => { const s = document.createElement('script'); s.src = '/rep.js'; s.onload = res; document.head.append(s); })`);
  const repeats = () => named(c, 'error').filter((s) => s.status.message === 'again' && 'wasmtrace.repeats' in attrs(s.attributes)).map((s) => Number(attrs(s.attributes)['wasmtrace.repeats']));
  const dropped = () => named(c, 'error').filter((s) => 'wasmtrace.errors_dropped' in attrs(s.attributes)).map((s) => Number(attrs(s.attributes)['wasmtrace.errors_dropped']));
  // First hide: the first round's repeats (its first occurrence has a span of its own) and 5 errors past the minute's 30.
  await page.evaluate(`again(${rounds[0]})`);
  await page.evaluate(`new Promise((res) => { for (let i = 0; i < 34; i++) setTimeout(() => { throw new RangeError('distinct ' + i); }, 0); setTimeout(res, 50); })`);
  await page.evaluate('setHidden(true)');
  await c.waitFor(() => repeats().length === 1 && dropped().length === 1, 15_000).catch(() => {});
  assert.deepEqual([repeats(), dropped()], [[rounds[0]! - 1], [5]], 'sent at the hide, the page still open');
  // Shown, more of the same error, hidden again: only the occurrences since the last hide.
  await page.evaluate('setHidden(false)');
  await page.evaluate(`again(${rounds[1]})`);
  await page.evaluate('setHidden(true)');
  await c.waitFor(() => repeats().length === 2, 15_000).catch(() => {});
  assert.deepEqual(repeats(), [rounds[0]! - 1, rounds[1]], 'the second hide: the round since the first');
  // Closed with nothing new: no count is sent again.
  await page.close({ runBeforeUnload: true });
  await new Promise((res) => setTimeout(res, 1000));
  assert.deepEqual([repeats(), dropped()], [[rounds[0]! - 1, rounds[1]], [5]], 'pagehide sends no count twice');
});

// An error reported while a remote context is active (withSpan over an
// extracted traceparent; a listener that throws during a synchronous
// dispatch) was recorded on getActiveSpan()'s span over that context, which
// records nothing: the error was lost. It gets a span of its own, a child of
// that context.
test('Chromium: an error thrown under withSpan(remote context) gets its own span, a child of that context (generated contexts)', async (t) => {
  const r = rng(9091);
  const hex = (n: number): string => Array.from({ length: n }, () => '0123456789abcdef'[Math.floor(r() * 16)]).join('');
  const parents = Array.from({ length: 6 }, (_, i) => ({ traceId: `${hex(31)}${1 + (i % 9)}`, spanId: `${hex(15)}${1 + (i % 9)}`, tag: `E${i}${word(r, 5)}` }));
  const { site, c, newPage } = await startEnv(t, {});
  const page = await newPage();
  await page.goto(site.url);
  await page.evaluate(initCode(c.url, { instrumentations: { interactions: false, webVitals: false, longTasks: false, documentLoad: false, resources: false } }));
  await page.evaluate(`(${JSON.stringify(parents)}).forEach(({ traceId, spanId, tag }) => {
    const ctx = tracer.extract({ traceparent: '00-' + traceId + '-' + spanId + '-01' });
    const el = document.createElement('i');
    el.addEventListener('x', () => { throw new Error(tag); });
    tracer.withSpan(ctx, () => el.dispatchEvent(new Event('x')));
  })`);
  await c.waitFor(() => named(c, 'error').length >= parents.length, 10_000);
  for (const p of parents) {
    const span = named(c, 'error').find((s) => s.status.message.includes(p.tag));
    assert.ok(span, `a span for ${p.tag}`);
    assert.equal(span.traceId, p.traceId);
    assert.equal(span.parentSpanId, p.spanId);
    assert.equal(eventAttrs(span)['exception.message'], p.tag);
  }
});

// exception.message was redacted only for `instanceof Error` values and
// strings: an iframe's Error, or a rejection with a plain { name, message },
// kept the URL's secret (its status message and stack were redacted).
test('Chromium: the URLs in any value\'s message are redacted (an iframe\'s Error, a plain { name, message }, a URL; generated secrets)', async (t) => {
  const r = rng(7071);
  const kinds = ['iframe-error', 'plain', 'plain-no-name', 'url'] as const;
  const values = Array.from({ length: 12 }, (_, i) => ({ kind: kinds[i % kinds.length]!, secret: `SECRET${word(r)}`, tag: `M${i}${word(r, 5)}`, how: r() < 0.5 ? 'reject' : 'throw' }));
  const { site, c, newPage } = await startEnv(t, {});
  const page = await newPage();
  await page.goto(site.url);
  await page.evaluate(initCode(c.url, { redactQuery: ['sig'], instrumentations: { interactions: false, webVitals: false, longTasks: false, documentLoad: false, resources: false } }));
  await page.evaluate(`(() => {
    const f = document.createElement('iframe');
    document.body.append(f);
    (${JSON.stringify(values)}).forEach(({ kind, secret, tag, how }, i) => {
      const text = tag + ' at https://h.example/x?sig=' + secret + '&k=1';
      const v = kind === 'iframe-error' ? new f.contentWindow.Error(text)
        : kind === 'plain' ? { name: 'ApiError', message: text }
        : kind === 'plain-no-name' ? { message: text }
        : new URL('https://h.example/' + tag + '?sig=' + secret);
      if (how === 'reject') Promise.reject(v);
      else setTimeout(() => { throw v; }, i);
    });
  })()`);
  const rejects = values.filter((v) => v.how === 'reject').length;
  // Before the fix, the plain objects' messages were all '[object Object]': repeats, counted at a hide or pagehide (no wait for them here).
  await c.waitFor(() => named(c, 'unhandledrejection').length === rejects && named(c, 'error').length === values.length - rejects, 10_000).catch(() => {});
  const everything = JSON.stringify(c.spans());
  const failures: string[] = [];
  for (const v of values) {
    if (everything.includes(v.secret)) failures.push(`${v.kind} ${v.how}: ${v.secret} reached the collector`);
    const span = named(c, v.how === 'reject' ? 'unhandledrejection' : 'error').find((s) => s.status.message.includes(v.tag));
    if (!span) {
      failures.push(`${v.kind} ${v.how}: no span for ${v.tag}`);
      continue;
    }
    const want = v.kind === 'url' ? `https://h.example/${v.tag}?sig=REDACTED` : `${v.tag} at https://h.example/x?sig=REDACTED&k=1`;
    const got = `${span.status.message} | ${String(eventAttrs(span)['exception.message'])}`;
    if (got !== `${want} | ${want}`) failures.push(`${v.kind} ${v.how}: ${got}`);
  }
  assert.deepEqual(failures, []);
});

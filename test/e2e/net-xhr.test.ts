// XMLHttpRequest lifecycles the SDK must follow to the end of each request,
// before and after ready, in both browsers (generated cases):
// - a synchronous XHR that fails throws and fires no loadend; send() that
//   throws InvalidStateError sends nothing: neither may leave a span open
//   (open spans held the span pool, and the click that made one, for good);
// - an XHR reused from its own loadend/load/readystatechange handler: the
//   finished request keeps its status (open() resets it before the SDK read it);
// - open() while a request is in flight cancels it: its span ends then, and
//   does not take the next request's status.
import assert from 'node:assert/strict';
import type { FlatSpan } from '../helpers/otlp.js';
import type { Tab } from './sdk-env.js';
import { A, clientSpans, deadOrigin, earlyThenReady, inBoth, pick, prng, startNetEnv, tagPage } from './net-env.js';

/** Uncaught page errors (Firefox reports a CORS failure's console message among them). */
const pageErrors = (tab: Tab): string[] => tab.pageErrors.filter((e) => !e.startsWith('Cross-Origin Request Blocked'));
const ms = (s: FlatSpan): number => Number(BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano)) / 1e6;

/** What a span says of its request: its status code, or its error.type, and whether its status is ERROR. */
const outcome = (s: FlatSpan | undefined): string => {
  if (!s) return 'no span';
  const a = A(s);
  return `${String(a['http.response.status_code'] ?? '-')} ${String(a['error.type'] ?? '-')} ${s.status.code === 2 ? 'ERROR' : 'ok'}`;
};
const expectCode = (code: number): string => `${code} ${code >= 400 ? code : '-'} ${code >= 400 ? 'ERROR' : 'ok'}`;

inBoth('failed synchronous XHRs and send() that throws end their spans; nothing held, nothing dropped', async (d) => {
  const env = await startNetEnv();
  try {
    const dead = await deadOrigin();
    const r = prng(7);
    const cases = Array.from({ length: 24 }, () => ({ kind: pick(r, ['fail', 'fail', 'ok', 'twice'] as const), method: pick(r, ['GET', 'POST', 'PUT']), code: pick(r, [200, 201, 204, 404, 500, 503]) }));
    const script = `const dead = ${JSON.stringify(dead)}, cases = ${JSON.stringify(cases)};
      window.one = ({ kind, method, code }, tag) => {
        const x = new XMLHttpRequest();
        if (kind === 'fail') { x.open(method, dead + '/refused?tag=' + tag, false); try { x.send(); return 'sent'; } catch (e) { return 'threw'; } }
        if (kind === 'ok') { x.open(method, '/status/' + code + '?tag=' + tag, false); x.send(method === 'GET' ? null : 'body'); return x.status; }
        x.open('GET', '/slow?tag=' + tag); x.send();
        try { x.send(); return 'no throw'; } catch (e) { return e.name; }
      };
      window.go = (phase) => cases.map((c, i) => one(c, phase + i + '.'));
      window.results = go('e');
      document.getElementById('b').addEventListener('click', () => one({ kind: 'fail', method: 'GET' }, 'click.'));`;
    env.site.page('/sync.html', tagPage(env, '<button id=b>b</button>', script));
    const tab = await d.newTab();
    await earlyThenReady(tab, `${env.site.origin}/sync.html`, `(window.results = results.concat(go('r')))`);
    await tab.click('#b');
    const many = await tab.eval<number>(`(() => { let n = 0; for (let i = 0; i < 200; i++) if (one({ kind: 'fail', method: 'GET' }, 'many' + i + '.') === 'threw') n++; return n; })()`);
    assert.equal(many, 200);
    const results = await tab.eval<unknown[]>('results');
    await tab.eval('wasmtrace.flush().then(() => true)');
    const c = env.collector;
    const all = () => c.spans().some((s) => s.name === 'click') && clientSpans(c, 'many').length >= 200 && ['e', 'r'].every((p) => cases.every((_, i) => clientSpans(c, `tag=${p}${i}.`).length > 0));
    // The slow requests of 'twice' end 4 s after they were sent (net-env's /slow), then go with a scheduled export.
    await c.waitFor(all, 20_000).catch(() => {});
    const failures: string[] = [];
    ['e', 'r'].forEach((phase, p) => cases.forEach((k, i) => {
      const tag = `tag=${phase}${i}.`;
      const label = `${phase}${i} ${k.kind} ${k.method} ${k.code}`;
      const result = results[p * cases.length + i];
      const spans = clientSpans(c, tag);
      if (spans.length !== 1) failures.push(`${label}: ${spans.length} spans`);
      const got = outcome(spans[0]);
      if (k.kind === 'fail') {
        if (result !== 'threw') failures.push(`${label}: the page's send() ${String(result)}`);
        if (!/^- \S+ ERROR$/.test(got)) failures.push(`${label}: ${got}`);
      } else if (k.kind === 'ok') {
        if (result !== k.code) failures.push(`${label}: the page got ${String(result)}`);
        if (got !== expectCode(k.code)) failures.push(`${label}: ${got}`);
      } else {
        if (result !== 'InvalidStateError') failures.push(`${label}: the second send() ${String(result)}`);
        if (got !== expectCode(200)) failures.push(`${label}: ${got}`);
      }
    }));
    assert.deepEqual(failures, []);
    assert.equal(clientSpans(c, 'many').filter((s) => /^- \S+ ERROR$/.test(outcome(s))).length, 200, 'each of the 200 failed sync XHRs: an ended error span');
    const click = c.spans().find((s) => s.name === 'click');
    assert.ok(click && ms(click) < 5000, `the click span ended with its failed sync XHR (${click ? ms(click) : 'not sent'} ms)`);
    assert.equal((await tab.eval<{ droppedSpans: number }>('wasmtrace.stats()')).droppedSpans, 0);
    assert.deepEqual(pageErrors(tab), []);
  } finally {
    await env.close();
  }
});

const HANDLERS = ['onloadend', 'onload', 'onreadystatechange', 'listener:loadend', 'listener:readystatechange', 'listener:load'] as const;
const CODES = [200, 201, 204, 404, 410, 500, 503];

inBoth('an XHR reused from its own handlers, or reopened in flight: each request keeps its own outcome', async (d) => {
  const env = await startNetEnv();
  try {
    const r = prng(11);
    const cases = Array.from({ length: 18 }, () => ({ how: pick(r, [...HANDLERS, 'reopen', 'reopen'] as const), first: pick(r, CODES), second: pick(r, CODES) }));
    const script = `const cases = ${JSON.stringify(cases)};
      const one = ({ how, first, second }, tag) => new Promise((done) => {
        const x = new XMLHttpRequest();
        const url = (code, n) => '/status/' + code + '?tag=' + tag + n + '.';
        if (how === 'reopen') {
          x.open('GET', '/slow?tag=' + tag + '1.'); x.send();
          x.open('GET', url(second, 2)); x.onloadend = () => done(x.status); x.send();
          return;
        }
        let n = 0;
        const handler = () => {
          if (how.endsWith('readystatechange') && x.readyState !== 4) return;
          if (++n === 1) { x.open('GET', url(second, 2)); x.send(); } else done(x.status);
        };
        if (how.startsWith('listener:')) x.addEventListener(how.slice(9), handler); else x[how] = handler;
        x.open('GET', url(first, 1)); x.send();
      });
      window.go = (phase) => Promise.all(cases.map((c, i) => one(c, phase + i + '-')));
      window.early = go('e');`;
    env.site.page('/reuse.html', tagPage(env, '', script));
    const tab = await d.newTab();
    await earlyThenReady(tab, `${env.site.origin}/reuse.html`, `go('r')`);
    const c = env.collector;
    const each = ['e', 'r'].flatMap((phase) => cases.flatMap((_, i) => [1, 2].map((n) => `tag=${phase}${i}-${n}.`)));
    await c.waitFor(() => each.every((tag) => clientSpans(c, tag).length > 0), 15_000).catch(() => {});
    const failures: string[] = [];
    for (const phase of ['e', 'r']) cases.forEach((k, i) => {
      const label = `${phase}${i} ${k.how} ${k.first} then ${k.second}`;
      const [one, two] = [1, 2].map((n) => clientSpans(c, `tag=${phase}${i}-${n}.`)) as [FlatSpan[], FlatSpan[]];
      if (one.length !== 1 || two.length !== 1) failures.push(`${label}: ${one.length} and ${two.length} spans`);
      const want1 = k.how === 'reopen' ? '- abort ERROR' : expectCode(k.first);
      if (outcome(one[0]) !== want1) failures.push(`${label}: first ${outcome(one[0])}, expected ${want1}`);
      if (outcome(two[0]) !== expectCode(k.second)) failures.push(`${label}: second ${outcome(two[0])}`);
      if (k.how === 'reopen' && one[0] && two[0] && BigInt(one[0].endTimeUnixNano) > BigInt(two[0].startTimeUnixNano) + 50_000_000n) failures.push(`${label}: the cancelled request's span ended after the next began`);
    });
    assert.deepEqual(failures, []);
    assert.deepEqual(pageErrors(tab), []);
  } finally {
    await env.close();
  }
});

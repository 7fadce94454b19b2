// Requests in flight when the page goes away (a navigation): each reached its
// server with a traceparent, so its CLIENT span must be exported — ended at
// pagehide, marked wasmtrace.unfinished, with no error status — in the last
// batch. Chromium rejects keepalive fetches as the document starts to unload
// while it goes on sending them: not an error either. Generated requests
// (fetch, keepalive fetch, XHR; GET and POST), started before and after
// ready, both browsers.
import assert from 'node:assert/strict';
import type { Driver } from './sdk-env.js';
import { until } from '../helpers/poll.js';
import { A, earlyThenReady, inBoth, pick, prng, startNetEnv, tagPage } from './net-env.js';

/** Rounds of a page each; per round 3 requests before ready and 3 after: the 6 connections a browser opens to one origin. */
const ROUNDS = 4;

inBoth(`requests in flight at pagehide: spans exported, unfinished, not errors (${ROUNDS} pages)`, async (d) => {
  for (let round = 0; round < ROUNDS; round++) await inFlightAtPagehide(d, round);
});

async function inFlightAtPagehide(d: Driver, round: number): Promise<void> {
  const env = await startNetEnv();
  try {
    const r = prng(12 + round);
    const cases = Array.from({ length: 3 }, () => ({ kind: pick(r, ['fetch', 'keepalive', 'xhr'] as const), method: pick(r, ['GET', 'POST']) }));
    const script = `const api = ${JSON.stringify(env.api.origin)}, cases = ${JSON.stringify(cases)};
      const one = ({ kind, method }, tag) => {
        const url = api + '/open/slow?tag=' + tag, body = method === 'POST' ? 'x' : undefined;
        if (kind === 'xhr') { const x = new XMLHttpRequest(); x.open(method, url); x.send(body); return; }
        fetch(url, { method, body, keepalive: kind === 'keepalive' }).catch(() => {});
      };
      window.go = (phase) => cases.forEach((c, i) => one(c, phase + i + '.'));
      go('e');`;
    env.site.page('/a.html', tagPage(env, '', script));
    env.site.page('/b.html', '<!doctype html><title>b</title>');
    const tab = await d.newTab();
    await earlyThenReady(tab, `${env.site.origin}/a.html`, `go('r')`);
    const tags = ['e', 'r'].flatMap((p) => cases.map((_, i) => `tag=${p}${i}.`));
    const arrived = () => tags.every((t) => env.api.seen.some((q) => q.path.endsWith(t)));
    const c = env.collector;
    await until(arrived, 'every request to reach the API', 15_000, 20).catch(() => {});
    assert.ok(arrived(), 'every request reached the API');
    await tab.goto(`${env.site.origin}/b.html`); // their answers are 4 s away (net-env's /slow)
    const idOf = (t: string): string => String(env.api.seen.find((q) => q.path.endsWith(t))?.headers.traceparent).split('-')[2] as string;
    await c.waitFor(() => tags.every((t) => c.spans().some((s) => s.spanId === idOf(t))), 15_000).catch(() => {});
    const failures: string[] = [];
    ['e', 'r'].forEach((phase) => cases.forEach((k, i) => {
      const t = `tag=${phase}${i}.`;
      const label = `round ${round} ${phase}${i} ${k.kind} ${k.method}`;
      const span = c.spans().find((s) => s.spanId === idOf(t));
      if (!span) return void failures.push(`${label}: the span its traceparent names was not exported`);
      const a = A(span);
      // Firefox cancels a page's plain fetches as the navigation starts, well before pagehide, and the
      // page's promise rejects: that failure the page saw stands (Chromium's rejection comes at unload).
      if (d.name === 'firefox' && k.kind === 'fetch') {
        if (a['error.type'] !== 'TypeError' && a['wasmtrace.unfinished'] !== true) failures.push(`${label}: ${JSON.stringify(a)}`);
        return;
      }
      if (span.status.code === 2 || a['error.type'] !== undefined) failures.push(`${label}: an error (${String(a['error.type'])})`);
      // Before ready, a request may have been answered before the navigation; after ready, none was.
      const finished = a['http.response.status_code'] === 200;
      if (a['wasmtrace.unfinished'] !== true && !(phase === 'e' && finished)) failures.push(`${label}: ${JSON.stringify(a)}`);
    }));
    assert.deepEqual(failures, []);
  } finally {
    await env.close();
  }
}

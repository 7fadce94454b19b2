// Differential test: the page's fetch and XMLHttpRequest calls (generated,
// seeded) give the app the same results, errors, events and `this`, and put
// the same requests on the wire, with the SDK (script tag, and init() from
// the ESM build; before ready and after) as without it. The only difference
// allowed: trace headers where propagation is meant (transparency-env.ts).
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { differences, run, startServers, VARIANTS, type Servers } from './transparency-env.js';
import { inBoth, pick, prng } from './net-env.js';

let s: Servers;
before(async () => (s = await startServers()));
after(() => s.close());

type R = () => number;
const maybe = <T>(r: R, p: number, v: T): T | undefined => (r() < p ? v : undefined);

function requestOptions(r: R, withBody: boolean): Record<string, unknown> {
  // Node's HTTP parser refuses a method it does not know, and lower-case 'patch' (fetch leaves it as given).
  const method = pick(r, ['GET', 'GET', 'POST', 'POST', 'put', 'PATCH', 'DELETE', 'HEAD', 'bad method', 'CONNECT', 'get']);
  const body = withBody || r() < 0.15 ? pick(r, ['text', 'blob', 'form', 'params', 'buffer', 'view', 'stream']) : undefined;
  return {
    method,
    body,
    duplex: body === 'stream' && r() < 0.7 ? 'half' : undefined,
    headers: maybe(r, 0.6, pick(r, ['obj', 'headers', 'array', 'tp', 'bag', 'forbidden', 'bad', 'ctype'])),
    keepalive: maybe(r, 0.15, true),
    mode: maybe(r, 0.2, pick(r, ['no-cors', 'cors', 'same-origin'])),
    redirect: maybe(r, 0.15, pick(r, ['manual', 'error', 'follow'])),
    referrerPolicy: maybe(r, 0.35, pick(r, ['no-referrer', 'origin', 'unsafe-url'])),
    referrer: maybe(r, 0.2, pick(r, ['', '/elsewhere', 'about:client'])),
    cache: maybe(r, 0.1, pick(r, ['no-store', 'reload', 'only-if-cached'])),
    credentials: maybe(r, 0.15, pick(r, ['omit', 'include'])),
    signal: maybe(r, 0.2, pick(r, ['aborted', 'reason', 'mid', 'midReason', 'bad'])),
    integrity: maybe(r, 0.04, 'sha256-AAAA'),
  };
}

function fetchCase(r: R): Record<string, unknown> {
  const input = pick(r, ['string', 'string', 'string', 'rel', 'url', 'request', 'request', 'request', 'none', 'null', 'data', 'blob', 'revoked', 'tostring']);
  const init = pick(r, input === 'request' ? ['absent', 'absent', 'empty', 'plain', 'undefined'] : ['absent', 'plain', 'plain', 'plain', 'inherited', 'class', 'request', 'empty', 'null', 'undefined']);
  const opts = requestOptions(r, false);
  // A body with GET: TypeError at once; mid-flight aborts only matter for slow answers. /slow (4 s) where
  // an abort can reach the fetch (an init that carries its signal, or a Request), else /late (500 ms).
  const mid = opts.signal === 'mid' || opts.signal === 'midReason';
  const cut = ['plain', 'inherited', 'request'].includes(init) || input === 'request';
  const path = mid ? (cut ? '/slow' : '/late') : pick(r, ['/r/200', '/r/200', '/r/404', '/r/500', '/r/204', '/redirect']);
  return {
    call: pick(r, ['plain', 'plain', 'plain', 'window', 'undef', 'obj']),
    input,
    dest: input === 'rel' ? 'rel' : pick(r, ['same', 'open', 'open', 'closed']),
    path,
    req: input === 'request' ? requestOptions(r, false) : undefined,
    init,
    opts,
  };
}

function xhrCase(r: R): Record<string, unknown> {
  const method = pick(r, ['GET', 'GET', 'POST', 'post', 'PUT', 'PATCH', 'HEAD', 'bad method', 'TRACE']);
  const dest = pick(r, ['rel', 'same', 'open', 'open', 'closed']);
  // A timeout that surely fires (500 ms on a 4 s answer; the runner lets it fire only once the request
  // has reached the server, however long a preflight takes on a loaded machine), or surely not (5 s on a 500 ms answer).
  const timeout = maybe(r, 0.1, pick(r, [500, 5000]));
  const path = timeout === 500 ? '/slow' : timeout ? '/late' : pick(r, ['/r/200', '/r/200', '/r/404', '/r/500', '/redirect']);
  const mode = pick(r, ['omit', 'omit', true, true, false, 'undef']);
  const ops: unknown[][] = [['open', method, dest, path, mode]];
  for (let i = Math.floor(r() * 3); i > 0; i--) {
    ops.push(pick(r, [
      ['header', 'x-app', 'v1'], ['header', 'X-App', 'v2'], ['header', 'traceparent', `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`],
      ['header', 'baggage', 'app=b'], ['header', 'tracestate', 'app=s'], ['header', 'Cookie', 'c=1'], ['header', 'content-length', '3'],
      ['header1', 'x-one'], ['header', 'bad name', 'v'], ['header', 'content-type', 'text/x-app'],
    ]));
  }
  if (r() < 0.3) ops.push(['rt', pick(r, ['text', 'json', 'arraybuffer', 'blob', 'document', ''])]);
  if (timeout) ops.push(['timeout', timeout]);
  if (r() < 0.15) ops.push(['cred', true]);
  if (r() < 0.1) ops.push(['mime', 'text/x-app']);
  ops.push(['send', method === 'GET' || method === 'HEAD' || r() < 0.3 ? undefined : pick(r, ['text', 'blob', 'form', 'params', 'buffer', 'view', 'doc'])]);
  // Misuse the app may make: each throws (or not) as the XHR decides.
  const misuse = r();
  if (misuse < 0.08) ops.unshift(['send']);
  else if (misuse < 0.16) ops.push(['send']);
  else if (misuse < 0.22) ops.push(['header', 'x-late', '1']);
  else if (misuse < 0.28) ops.push(['rt', 'text']);
  else if (misuse < 0.34) ops.unshift(['header', 'x-early', '1']);
  else if (misuse < 0.4) ops.push(['open', 'GET', dest, '/r/201', true], ['send']); // reopened while in flight
  else if (misuse < 0.44) ops.push(['abort']);
  return {
    racy: misuse >= 0.34 && misuse < 0.44,
    ctor: r() < 0.25 ? 'sub' : 'xhr',
    ops,
    abortAt: maybe(r, 0.15, pick(r, [1, 2, 3, 4])),
    reuse: maybe(r, 0.15, [['open', 'POST', pick(r, ['same', 'open', 'closed']), '/r/200', true], ['send', 'text']]),
    upload: maybe(r, 0.15, true),
  };
}

/** A Request given as fetch's init (its members read through its getters), to where the SDK propagates. */
const requestAsInit = (['same', 'open'] as const).flatMap((dest) => ['GET', 'POST'].map((method) => ({
  call: 'plain', input: 'string', dest, path: '/r/200', init: 'request', opts: { method, headers: 'obj', ...(method === 'POST' && { body: 'text' }) },
})));

for (const [suite, make, n, seed, fixed] of [['fetch', fetchCase, 70, 14, requestAsInit], ['xhr', xhrCase, 60, 15, []]] as const) {
  inBoth(`${suite}: what the app sees and what goes on the wire, without and with the SDK (${n} generated cases and ${fixed.length} fixed, before ready and after)`, async (d) => {
    const r = prng(seed);
    const cases: Array<Record<string, unknown>> = [...Array.from({ length: n }, () => make(r)), ...fixed];
    const runs = [];
    for (const v of VARIANTS) runs.push(await run(d, s, v, suite, cases));
    const [without, ...withSdk] = runs;
    const found: string[] = [];
    withSdk.forEach((w, j) => {
      const v = VARIANTS[j + 1];
      assert.equal(w.lateEarly, 0, `${v}: every early case ran before the SDK was ready`);
      assert.ok(w.propagated > 0, `${v}: the SDK propagated somewhere (it was on)`);
      const racy = new Set(cases.flatMap((k, i) => (k.racy ? [i] : [])));
      for (const diff of differences(without!, w, (i) => `${v} case ${i} ${JSON.stringify(cases[i])}`, racy)) found.push(diff);
    });
    assert.equal(found.length, 0, `${found.length} differences:\n${found.slice(0, 40).join('\n')}`);
  });
}

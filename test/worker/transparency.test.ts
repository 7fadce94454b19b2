// instrument() must not change what a Worker does: one app
// (fixtures/transparency.mjs) run plain and instrumented, as an object
// literal and as a class instance, in real workerd, driven with generated
// cases — responses of every kind (several Set-Cookie, redirects, bodies
// written after the handler returned, streamed and huge bodies, a WebSocket
// upgrade), exceptions (uncaught, with passThroughOnException, caught by the
// app's own caller), outgoing fetch in every form (to a node:http upstream
// on 127.0.0.1 and to a service binding; Request objects, stream bodies, the
// incoming request, redirect: 'manual', cf, aborted signals, failures, in
// waitUntil), what the app sees of this/env/ctx, scheduled and queue
// events. Each outcome — what the client got, what the app saw, what the
// upstream received — must be the same, traceparent/tracestate/baggage aside.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Miniflare } from 'miniflare';
import { startCollector, type Collector } from '../helpers/collector.js';
import { until } from '../helpers/poll.js';
import { fixture, startWorkers } from './harness.js';
import { prng } from '../../demo/collector/synthetic.mjs'; // mulberry32, seeded

const CASES = 60;
const PROPAGATION = new Set(['traceparent', 'tracestate', 'baggage']);
/** How long a gate waits for the client before it opens anyway (the body was buffered). */
const GATE_MS = 3000;

type Json = Record<string, unknown>;
interface Received {
  method: string;
  path: string;
  headers: string[][];
  body: string;
}

let collector: Collector;
let mf: Miniflare;
let upstreamUrl: string;
let closeUpstream: () => Promise<void>;
/** What the upstream received, by run. */
const received = new Map<string, Received[]>();
/** Gates the client opens when it has read a streamed body's first chunk, by run. */
const gates = new Map<string, { open: () => void; opened: Promise<boolean> }>();

function gate(run: string) {
  let g = gates.get(run);
  if (!g) {
    let open!: () => void;
    const opened = new Promise<boolean>((r) => {
      open = () => r(true);
      setTimeout(() => r(false), GATE_MS);
    });
    gates.set(run, (g = { open, opened }));
  }
  return g;
}

/** The upstream: records each request (by the run in its path) and answers as its path says. */
async function upstream(req: IncomingMessage, res: ServerResponse) {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const url = req.url ?? '/';
  const [, kind, run, what = ''] = url.split('/');
  if (kind === 'gate') {
    res.end(String(await gate(run!).opened));
    return;
  }
  const headers: string[][] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const k = req.rawHeaders[i]!;
    // CF-Worker names the worker's zone, which differs between the two by design.
    if (!PROPAGATION.has(k.toLowerCase()) && k.toLowerCase() !== 'cf-worker') headers.push([k, req.rawHeaders[i + 1]!]);
  }
  const list = received.get(run!) ?? [];
  list.push({ method: req.method!, path: url, headers, body: Buffer.concat(chunks).toString('base64') });
  received.set(run!, list);
  if (what === 'redirect') {
    res.writeHead(302, { Location: `/r/${run}/ok` }).end('moved');
  } else if (what.startsWith('status-')) {
    res.writeHead(Number(what.slice(7)), 'Short And Stout', { 'X-Status': 'yes' }).end(`status ${what}`);
  } else if (what === 'slow-stream') {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.write('first;');
    const ok = await gate(run!).opened;
    res.end(ok ? 'rest' : 'rest after the gate timed out');
  } else {
    res.setHeader('Set-Cookie', ['a=1; Path=/', 'b=2; HttpOnly']);
    res.setHeader('X-Upstream-Mixed', 'Case');
    res.end(`ok ${req.method} ${chunks.reduce((n, c) => n + c.length, 0)}`);
  }
}

before(async () => {
  collector = await startCollector();
  const server = createServer((req, res) => void upstream(req, res).catch(() => res.destroy()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  upstreamUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  closeUpstream = () =>
    new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  const bindings = { UPSTREAM: upstreamUrl, VAR: 'v1', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: collector.url, OTEL_SERVICE_NAME: 'transparency' };
  const worker = (name: string, extra: Record<string, string>) => ({
    name,
    routes: [`${name}.example/*`],
    scriptPath: fixture('transparency.mjs'),
    bindings: { ...bindings, ...extra },
    serviceBindings: { SVC: 'svc' },
  });
  mf = startWorkers([
    worker('plain', { PLAIN: '1' }),
    worker('traced', {}),
    worker('plainclass', { PLAIN: '1', SHAPE: 'class' }),
    worker('tracedclass', { SHAPE: 'class' }),
    // With AsyncLocalStorage (the wrapper runs the handler inside it).
    { ...worker('plainals', { PLAIN: '1' }), compatibilityFlags: ['nodejs_compat'] },
    { ...worker('tracedals', {}), compatibilityFlags: ['nodejs_compat'] },
    { name: 'svc', scriptPath: fixture('transparency.mjs'), bindings: { ROLE: 'svc' } },
  ]);
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
  await closeUpstream?.();
  await collector?.close();
});

/** A generated case: what the app does, and the request that asks for it. */
interface Case {
  app: Json;
  method: string;
  headers: Record<string, string>;
  body?: string;
  websocket?: boolean;
}

function generate(seed: number): Case[] {
  const r = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const word = () => r().toString(36).slice(2, 2 + 1 + Math.floor(r() * 8));
  const headerPool = ['X-Mixed-Case', 'x-lower', 'X-UPPER', 'Accept', 'Content-Type', 'Cache-Control', 'X-Dup'];
  const headerList = (max: number) => Array.from({ length: Math.floor(r() * (max + 1)) }, () => [pick(headerPool), word()]);
  const respondCase = (): Json => {
    const body = pick(['text', 'bytes', 'empty', 'json', 'redirect', 'transform', 'gated', 'proxied', 'websocket'] as const);
    const status = pick([200, 201, 202, 203, 206, 299, 400, 404, 418, 451, 500, 503, 599]);
    const headers = [...headerList(3), ...Array.from({ length: Math.floor(r() * 4) }, () => [pick(['Set-Cookie', 'set-cookie', 'SET-COOKIE']), `${word()}=${word()}; Path=/`])];
    const b: Json = { type: body };
    if (body === 'text') b.text = word().repeat(1 + Math.floor(r() * 50));
    if (body === 'bytes') b.bytes = Array.from({ length: Math.floor(r() * 300) }, () => Math.floor(r() * 256));
    if (body === 'json') b.n = Math.floor(r() * 1e6);
    if (body === 'redirect') Object.assign(b, { location: `https://example.com/${word()}?q=${word()}`, status: pick([301, 302, 303, 307, 308]) });
    if (body === 'transform') b.parts = Array.from({ length: 1 + Math.floor(r() * 5) }, word);
    if (body === 'gated') b.mb = pick([0, 1, 4, 64]);
    return { kind: 'respond', status, statusText: pick(['', 'OK', 'Custom Reason']), headers, body: b, await: r() < 0.5 };
  };
  const op = (): Json => {
    const via = r() < 0.25 ? 'svc' : 'global';
    const method = pick(['GET', 'GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD']);
    const o: Json = {
      via,
      form: pick(['url-init', 'url-init', 'request', 'incoming']),
      method,
      target: pick(['ok', 'ok', 'ok', 'redirect', 'status-418', 'status-503', 'refused', 'bad-url']),
      when: r() < 0.2 ? 'waitUntil' : 'inline',
    };
    if (r() < 0.7) o.headers = r() < 0.5 ? Object.fromEntries(headerList(3)) : headerList(3);
    if (method !== 'GET' && method !== 'HEAD' ? r() < 0.8 : r() < 0.05) {
      o.body = { type: pick(['text', 'bytes', 'blob', 'params', 'stream', 'incoming']), text: `${word()} ${word()} ${word()}` };
    }
    if (r() < 0.3) o.redirect = pick(['follow', 'manual', 'error']);
    if (r() < 0.3) o.cf = { cacheTtl: Math.floor(r() * 600), cacheEverything: r() < 0.5 };
    if (r() < 0.1) o.signal = 'aborted';
    if (o.form === 'request' && r() < 0.3) o.override = true;
    return o;
  };
  const throwCase = (): Json => ({ kind: 'throw', what: pick(['error', 'type', 'string', 'number', 'null-proto', 'getter']), pass: r() < 0.3, await: r() < 0.5 });
  return Array.from({ length: CASES }, () => {
    const kind = pick(['respond', 'respond', 'respond', 'fetch', 'fetch', 'fetch', 'throw', 'caught', 'inspect']);
    const method = pick(['GET', 'GET', 'POST', 'PUT', 'OPTIONS']);
    const c: Case = { app: {}, method, headers: Object.fromEntries(headerList(3)) };
    // A CORS preflight: the wrapper runs it untraced.
    if (method === 'OPTIONS' && r() < 0.7) c.headers['Access-Control-Request-Method'] = 'PUT';
    if (method === 'POST' || method === 'PUT') c.body = word().repeat(1 + Math.floor(r() * 20));
    if (kind === 'respond') c.app = respondCase();
    else if (kind === 'fetch') c.app = { kind, ops: Array.from({ length: 1 + Math.floor(r() * 3) }, op), await: r() < 0.5 };
    else if (kind === 'throw') c.app = throwCase();
    else if (kind === 'caught') c.app = { kind, inner: throwCase() };
    else c.app = { kind };
    const type = (c.app.body as Json | undefined)?.type;
    c.websocket = type === 'websocket';
    // A streamed answer to a request body left unread: workerd sometimes cuts the connection, plain or not.
    if (type === 'gated' || type === 'proxied' || c.websocket) Object.assign(c, { method: 'GET', body: undefined });
    return c;
  });
}

/** Reads a body chunk by chunk: its length and hash, opening the run's gate at the first chunk. */
async function readBody(res: Response, g: { open: () => void } | undefined) {
  const hash = createHash('sha256');
  let bytes = 0;
  let start = '';
  if (res.body) {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      // A gated body's first chunk: the app (or upstream) writes the rest only after the gate opens.
      if (!bytes) g?.open();
      hash.update(chunk);
      if (start.length < 2000) start += Buffer.from(chunk).toString('latin1');
      bytes += chunk.length;
    }
  }
  return { bytes, sha256: hash.digest('hex'), start: start.slice(0, 2000) };
}

/** Waits until the upstream's record of `run` has stood still for 100 ms (waitUntil work included), at most 3 s. */
async function settled(run: string): Promise<Received[]> {
  let last = -1;
  for (let i = 0; i < 30; i++) {
    const n = received.get(run)?.length ?? 0;
    if (n === last && i > 2) break;
    last = n;
    await new Promise((r) => setTimeout(r, 100));
  }
  return received.get(run) ?? [];
}

/**
 * The upstream's record of `run`, its run named RUN (x-run, the paths), sorted:
 * work left to waitUntil races the app's other fetches to the upstream.
 */
function upstreamOf(run: string): string[] {
  const list = JSON.parse(JSON.stringify(received.get(run) ?? []).replaceAll(`"${run}"`, '"RUN"').replaceAll(`/${run}/`, '/RUN/')) as Json[];
  return list.map((r) => JSON.stringify(r)).sort();
}

/**
 * Both outcomes' upstream records read again, once the two runs' upstream
 * got as many requests (at most 15 s, then settled again): on a loaded
 * machine, a request left to waitUntil can reach the upstream after
 * settled() stopped waiting for it. A request more or fewer still differs.
 */
async function caughtUp(want: Json, wantRun: string, got: Json, gotRun: string): Promise<void> {
  if (!('upstream' in want && 'upstream' in got)) return;
  const n = (run: string) => received.get(run)?.length ?? 0;
  if (n(wantRun) !== n(gotRun)) {
    await until(() => n(wantRun) === n(gotRun), 'both runs\' upstream requests', 15_000, 20).catch(() => {});
    await settled(wantRun);
    await settled(gotRun);
  }
  want.upstream = upstreamOf(wantRun);
  got.upstream = upstreamOf(gotRun);
}

/** Everything observable of case `c` run on `host` as run `run`. */
async function outcome(host: string, c: Case, run: string): Promise<Json> {
  const type = (c.app.body as Json | undefined)?.type;
  const g = type === 'gated' || type === 'proxied' ? gate(run) : undefined;
  const headers = { ...c.headers, 'accept-encoding': 'identity', 'x-case': JSON.stringify(c.app), 'x-run': run, ...(c.websocket && { upgrade: 'websocket' }) };
  const res = await mf.dispatchFetch(`http://${host}.example/path?x=1`, { method: c.method, headers, body: c.body, redirect: 'manual' });
  // (Date: when the upstream answered; Sec-WebSocket-Accept: of the client's random key.)
  const out: Json = { status: res.status, statusText: res.statusText, headers: [...res.headers].filter(([k]) => k !== 'date' && k !== 'sec-websocket-accept'), setCookie: res.headers.getSetCookie() };
  if (res.webSocket) {
    const ws = res.webSocket;
    ws.accept();
    const echoed = new Promise((r) => ws.addEventListener('message', (m) => r(m.data)));
    ws.send(`hi ${c.app.status}`);
    out.websocket = await Promise.race([echoed, new Promise((r) => setTimeout(() => r('no echo'), 2000))]);
    ws.close();
  } else {
    const body = await readBody(res as unknown as Response, g);
    // The runtime's answer to an uncaught exception: its stack names the frames the wrapper adds; the first line names the exception.
    if (body.start.includes('\n    at ')) {
      body.start = body.start.replace(/^\s+at .*\n?/gm, '');
      Object.assign(body, { bytes: undefined, sha256: undefined });
      out.headers = (out.headers as string[][]).filter(([k]) => k !== 'content-length');
    }
    // The app's answers name its run; the rest must match byte for byte.
    out.body = body.start.includes(run) ? { ...body, start: body.start.replaceAll(run, 'RUN'), sha256: undefined } : body;
  }
  // true: the client had the first chunk before the rest was written (streamed); false: the gate timed out (buffered).
  if (g) out.streamed = await g.opened;
  await settled(run);
  out.upstream = upstreamOf(run);
  return out;
}

test(`the instrumented app answers, fetches and throws as the plain one (${CASES} generated cases, object and class handlers, with AsyncLocalStorage)`, async () => {
  const cases = generate(0x7a11);
  let streamed = 0;
  const differ: string[] = [];
  // Runs are named alike (a letter and the case, in _ no generated text holds): an answer that names its run keeps its length.
  for (const [plain, traced, p, t] of [
    ['plain', 'traced', 'p', 'q'],
    ['plainclass', 'tracedclass', 's', 't'],
    ['plainals', 'tracedals', 'u', 'v'],
  ] as const) {
    for (let i = 0; i < cases.length; i++) {
      const c = cases[i]!;
      const want: Json = await outcome(plain, c, `_${p}${i}_`).catch((e: Error) => ({ clientFailed: e.message }));
      const got: Json = await outcome(traced, c, `_${t}${i}_`).catch((e: Error) => ({ clientFailed: e.message }));
      await caughtUp(want, `_${p}${i}_`, got, `_${t}${i}_`);
      try {
        assert.deepEqual(got, want);
      } catch (e) {
        differ.push(`case ${i} (${traced}): ${JSON.stringify(c)}\n${(e as Error).message}`);
      }
      if (want.streamed !== undefined) assert.equal(want.streamed, true, `case ${i}: the plain app streams`), streamed++;
    }
  }
  assert.deepEqual(differ, []);
  assert.ok(streamed >= 4, `streamed bodies checked: ${streamed}`);
});

test('an exception the app throws reaches its caller and the runtime unchanged, whatever it is (generated)', async () => {
  const r = prng(0xe7c0);
  const kinds = ['error', 'type', 'string', 'number', 'null-proto', 'getter'];
  for (let i = 0; i < 24; i++) {
    // Each kind, thrown before and after an await, with and without passThroughOnException, uncaught and caught.
    const inner = { kind: 'throw', what: kinds[i % kinds.length], pass: r() < 0.5, await: r() < 0.5 };
    const app = i % 2 ? inner : { kind: 'caught', inner };
    const c: Case = { app, method: 'GET', headers: {} };
    for (const [plain, traced, p, t] of [
      ['plain', 'traced', 'p', 'q'],
      ['plainclass', 'tracedclass', 's', 't'],
    ] as const) {
      const want = await outcome(plain, c, `_e${p}${i}_`);
      const got = await outcome(traced, c, `_e${t}${i}_`);
      await caughtUp(want, `_e${p}${i}_`, got, `_e${t}${i}_`);
      assert.deepEqual(got, want, `${traced}: ${JSON.stringify(app)}`);
    }
  }
});

test('env as plain: one object every invocation (traced, ignored, concurrent), its bindings stringified without an RPC call (generated)', async () => {
  const r = prng(0xe2f);
  const inspect = (host: string, preflight: boolean) =>
    mf
      .dispatchFetch(`http://${host}.example/`, {
        method: preflight ? 'OPTIONS' : 'GET',
        headers: { 'x-case': '{"kind":"inspect"}', 'x-run': '_env_', ...(preflight && { 'access-control-request-method': 'PUT' }) },
      })
      .then((res) => res.json());
  for (let round = 0; round < 6; round++) {
    // Up to 8 at once, some of them preflights the wrapper leaves untraced.
    const kinds = Array.from({ length: 1 + Math.floor(r() * 8) }, () => r() < 0.3);
    for (const [plain, traced] of [
      ['plain', 'traced'],
      ['plainclass', 'tracedclass'],
      ['plainals', 'tracedals'],
    ]) {
      const want = await Promise.all(kinds.map((k) => inspect(plain!, k)));
      assert.deepEqual(await Promise.all(kinds.map((k) => inspect(traced!, k))), want, `${traced}, round ${round}: ${kinds}`);
    }
  }
});

test('scheduled and queue events: the same outcome, acks, retries and waitUntil work', async () => {
  const r = prng(0x5c4e);
  for (let i = 0; i < 12; i++) {
    const cron = ['* * * * *', 'throw', 'no-retry', '0 0 * * 1'][i % 4]!;
    const bodies = Array.from({ length: 1 + Math.floor(r() * 4) }, () => ['ack', 'retry', 'ack-all', 'none', 'throw'][Math.floor(r() * (i % 3 ? 4 : 5))]);
    const messages = bodies.map((body, j) => ({ id: `m${j}`, timestamp: new Date(1_700_000_000_000), body, attempts: 1 }));
    const run = async (name: string) => {
      received.delete('cron');
      received.delete('queue');
      const w = await mf.getWorker(name);
      const s = await w.scheduled({ cron, scheduledTime: new Date(1_700_000_000_000) });
      const q = await w.queue(`jobs${i}`, messages);
      return { s, q, cron: await settled('cron'), queue: await settled('queue') };
    };
    for (const [plain, traced] of [
      ['plain', 'traced'],
      ['plainclass', 'tracedclass'],
    ])
      assert.deepEqual(await run(traced!), await run(plain!), `event ${i}: ${cron} ${JSON.stringify(bodies)}`);
  }
});

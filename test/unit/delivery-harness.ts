// Shared by the delivery tests: the public init() over the real Wasm module,
// a port that refuses connections and can later forward to a collector, a
// fetch wrapper that sees every request and response, and readers of what
// the storage queue holds.
import vm from 'node:vm';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { init, type InitOptions, type Tracer } from '../../src/node.js';
import { init as initCore } from '../../src/index.js';
import { jsonWasm, protoWasm } from '../helpers/core-tracer.js';
import { unpack } from '../../src/export/codec.js';
import type { StorageArea } from '../helpers/memory-storage.js';
import { type Collector, startCollector } from '../helpers/collector.js';
import type { TestContext } from 'node:test';
import { allSpans, attrs, type FlatSpan } from '../helpers/otlp.js';
import { gunzipSync } from 'node:zlib';
import { instantiate } from '../../src/wasm.js';
import { createCore } from '../../src/core.js';
import { createTracer } from '../../src/tracer.js';
import { createPipeline, resolveDeliveryOptions } from '../../src/export/pipeline.js';
import type { DeliveryHooks, DeliveryOptions, Pipeline, SpanSource } from '../../src/export/types.js';
import type { StorageLike, Transport } from '../../src/export/types.js';
import { fetchTransport } from '../../src/export/send.js';

/** init() with the test's Wasm and small retry delays; options override. */
/** A tracer from the Node entry, or with `page`, from the core entry as a page uses it (keepalive, under its budget). */
export function tracerFor(endpoint: string, options: Partial<InitOptions> = {}, page = false): Promise<Tracer> {
  const json = options.protocol === 'http/json';
  return (page ? initCore : init)({
    serviceName: 'delivery-test',
    endpoint,
    wasm: json ? jsonWasm : protoWasm,
    storage: null,
    env: {},
    retryInitialDelayMs: 20,
    retryMaxDelayMs: 2000,
    scheduledDelayMs: 60_000,
    ...options,
  });
}

export interface Tab {
  tracer: Tracer;
  pipeline: Pipeline;
  /** Every drop the pipeline reported, by reason. */
  drops: Map<string, number>;
  dropped(): number;
  errors: unknown[];
}

/**
 * A tracer over the real Wasm module wired straight to createPipeline, with
 * the hooks recorded (no drop-report spans), for exact accounting.
 */
export async function tabFor(endpoint: string, options: DeliveryOptions = {}, wrap = (s: SpanSource): SpanSource => s, hooks: Partial<DeliveryHooks> = {}): Promise<Tab> {
  const x = await instantiate(protoWasm);
  const core = createCore(x, 'application/x-protobuf', 4096);
  const seed = new Uint8Array(32);
  crypto.getRandomValues(seed);
  core.u8.set(seed, core.io);
  x.seed();
  x.configure(Date.now(), 1, 128, 128, 128, 128);
  const drops = new Map<string, number>();
  const errors: unknown[] = [];
  const pipeline = createPipeline(
    wrap(core.source),
    resolveDeliveryOptions({ endpoint, storage: null, retryInitialDelayMs: 20, retryMaxDelayMs: 2000, scheduledDelayMs: 60_000, ...options }, {}, (m) =>
      errors.push(new RangeError(m)),
    ),
    {
      dropped: (reason, n) => void drops.set(reason, (drops.get(reason) ?? 0) + n),
      error: (e) => void errors.push(e),
      ...hooks,
    },
  );
  const tracer = createTracer(core, pipeline);
  return { tracer, pipeline, drops, errors, dropped: () => [...drops.values()].reduce((a, b) => a + b, 0) };
}

/** An earlier page that could not send: it ends `n` spans named `name-<i>` and shuts down, leaving them stored. */
export async function leaveStored(storage: StorageLike, downUrl: string, n: number, name = 'stored'): Promise<void> {
  const page = await tabFor(downUrl, { storage, maxAttempts: 1 });
  endSpans(page.tracer, n, name);
  await page.tracer.shutdown();
}

/** Ends `n` spans named `name-<i>` with three attributes and `pad` bytes of padding. */
export function endSpans(tracer: Tracer, n: number, name = 'op', pad = 0): void {
  for (let i = 0; i < n; i++) {
    const attributes: Record<string, string | number | boolean> = { 'http.method': 'GET', 'http.status_code': 200, ok: true };
    if (pad > 0) attributes.pad = 'p'.repeat(pad);
    tracer.startSpan(`${name}-${i}`, { attributes }).end();
  }
}

/** Spans the collector got, user spans and drop reports apart. */
export function received(c: Collector): { user: FlatSpan[]; dropped: Array<{ reason: string; spans: number }> } {
  const all = c.requests.flatMap((r) => (r.decoded ? allSpans(r.decoded) : []));
  const user = all.filter((s) => s.name !== 'wasmtrace.dropped');
  const dropped = all
    .filter((s) => s.name === 'wasmtrace.dropped')
    .map((s) => {
      const a = attrs(s.attributes);
      return { reason: String(a['wasmtrace.drop.reason']), spans: Number(a['wasmtrace.drop.spans']) };
    });
  return { user, dropped };
}

/** Every request the collector got decoded with the independent OTLP decoder. */
export function assertDecoded(c: Collector): void {
  for (const [i, r] of c.requests.entries()) {
    if (r.error !== undefined || !r.decoded) throw new Error(`request ${i} did not decode: ${r.error ?? 'not OTLP'}`);
  }
}

/** Span ids must be unique: nothing was delivered twice. */
export function uniqueIds(spans: FlatSpan[]): number {
  return new Set(spans.map((s) => s.spanId)).size;
}

/**
 * A port that fails every request (its connection destroyed unanswered, a
 * network error to the sender) until `up(collector)` makes it forward to the
 * collector: a collector that is down, then up.
 */
export async function flakyPort(): Promise<{ url: string; up(c: Collector): Promise<void>; close(): Promise<void> }> {
  let target = '';
  const p = await switchPort({ get url() { return target; } } as Collector);
  return {
    url: p.url,
    async up(c) {
      target = c.url;
      await p.up();
    },
    close: () => p.close(),
  };
}

export interface Observed {
  readonly url: string;
  readonly keepalive: boolean;
  readonly bytes: number;
  response?: Response;
}

/**
 * Wraps globalThis.fetch for the duration of a test: records each request,
 * its response, and the most keepalive body bytes ever in flight at once.
 */
export function watchFetch(): { calls: Observed[]; maxKeepaliveInFlight(): number; restore(): void } {
  const real = globalThis.fetch;
  const calls: Observed[] = [];
  let inFlight = 0;
  let max = 0;
  globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const body = init?.body;
    const bytes = body instanceof Uint8Array ? body.length : 0;
    const o: Observed = { url: String(input), keepalive: init?.keepalive === true, bytes };
    calls.push(o);
    if (o.keepalive) {
      inFlight += bytes;
      max = Math.max(max, inFlight);
    }
    try {
      const res = await real(input, init);
      o.response = res;
      return res;
    } finally {
      if (o.keepalive) inFlight -= bytes;
    }
  }) as typeof fetch;
  return { calls, maxKeepaliveInFlight: () => max, restore: () => void (globalThis.fetch = real) };
}

/** The queue entries in a storage area: spans and decoded bodies. */
export function storedBatches(area: StorageArea, prefix = 'wasmtrace:'): Array<{ key: string; spans: number; body: Uint8Array | null }> {
  return area
    .entries()
    .filter(([k]) => k.startsWith(`${prefix}q:`))
    .map(([key, v]) => {
      const m = /^W1,[pj],([g-]),(\d+),(\d+),/.exec(v);
      const packed = m ? unpack(v.slice(m[0].length), Number(m[3])) : null;
      const body = packed && m?.[1] === 'g' ? new Uint8Array(gunzipSync(packed)) : packed;
      return { key, spans: m ? Number(m[2]) : 0, body };
    });
}

/** Spans in the storage queue. */
export const storedSpans = (area: StorageArea): number => storedBatches(area).reduce((n, b) => n + b.spans, 0);

/** What storage holds besides the queue's mark (one key, written with the first entry and kept: queue.ts). */
export const left = (area: StorageArea): Array<[string, string]> => area.entries().filter(([k]) => k !== 'wasmtrace:m');

/** Makes every claim in the area expired, as if the pages holding them had died long ago. */
export function expireClaims(area: StorageArea, prefix = 'wasmtrace:'): void {
  for (const [k, v] of area.entries()) if (k.startsWith(`${prefix}c:`)) area.poke(k, `${v.split(',')[0]},1`);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export { until } from '../helpers/poll.js';

/** A tab that can be killed: a page that dies without pagehide or shutdown. */
export interface MortalTab extends Tab {
  /** Requests the tab has started whose answer it has not seen yet. */
  inFlight(): number;
  /** Their bodies, as sent (gzipped when `gzip`). */
  flying(): Array<{ body: Uint8Array; gzip: boolean }>;
  /** The owner its storage claims are written under, once it has written one. */
  owner(): string | null;
  /**
   * The page dies: from now on it reads and writes no storage, starts no
   * request, and sees no answer (a killed page runs no more script).
   */
  kill(): void;
}

/**
 * tabFor() over `storage` with a transport and a storage view that go dead on
 * kill(). Kill it only while inFlight() is 0 unless the test means to model a
 * request that outlives its page.
 */
export async function mortalTab(endpoint: string, storage: StorageLike, options: DeliveryOptions = {}): Promise<MortalTab> {
  let dead = false;
  const flying = new Set<{ body: Uint8Array; gzip: boolean }>();
  let owner: string | null = null;
  const never = new Promise<never>(() => {});
  const view: StorageLike = {
    get length() {
      return dead ? 0 : storage.length;
    },
    key: (i) => (dead ? null : storage.key(i)),
    getItem: (k) => (dead ? null : storage.getItem(k)),
    setItem: (k, v) => {
      if (dead) return;
      if (k.includes(':c:')) owner ??= v.split(',')[0] ?? null;
      storage.setItem(k, v);
    },
    removeItem: (k) => void (dead || storage.removeItem(k)),
  };
  const send = fetchTransport(endpoint, options.headers ?? {});
  const transport: Transport = (body, meta) => {
    if (dead) return never;
    const f = { body, gzip: meta.contentEncoding === 'gzip' };
    flying.add(f);
    return send(body, meta)
      .finally(() => flying.delete(f))
      .then(
        (r) => (dead ? never : r),
        (e: unknown) => (dead ? never : Promise.reject(e)),
      );
  };
  const tab = await tabFor(endpoint, { ...options, storage: view, transport });
  return { ...tab, inFlight: () => flying.size, flying: () => [...flying], owner: () => owner, kill: () => void (dead = true) };
}

/** Expires the claims written under `owner`: its page died long enough ago. */
export function expireClaimsOf(area: StorageArea, owner: string, prefix = 'wasmtrace:'): void {
  for (const [k, v] of area.entries()) if (k.startsWith(`${prefix}c:`) && v.split(',')[0] === owner) area.poke(k, `${owner},1`);
}

/** Forwards `req` to `target`'s collector (its URL read at the call), with `extra` headers; a 502 when it cannot. */
function forwardTo(target: Collector, req: IncomingMessage, res: ServerResponse, extra: Record<string, string> = {}): void {
  const to = new URL(target.url);
  const out = httpRequest({ host: to.hostname, port: to.port, path: req.url, method: req.method, headers: { ...req.headers, ...extra } }, (r) => {
    res.writeHead(r.statusCode ?? 502, r.headers);
    r.pipe(res);
  });
  out.on('error', () => res.writeHead(502).end());
  req.pipe(out);
}

/**
 * A port in front of `target` that starts down and can go up and down again.
 * It (and flakyPort) listens from the start (a port given back and taken again later could
 * be taken by another test meanwhile): down, each new request's connection is
 * destroyed unanswered (a network error to the sender), while a request
 * already forwarded still gets its answer, so no request is accepted by the
 * collector unseen by its sender.
 */
export async function switchPort(target: Collector): Promise<{ url: string; up(): Promise<void>; down(): void; close(): Promise<void> }> {
  let live = false;
  const server = createServer((req, res) => {
    if (!live) {
      req.socket.destroy();
      return;
    }
    forwardTo(target, req, res); // its URL read now: flakyPort names its collector only when it goes up
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    async up() {
      live = true;
    },
    down() {
      live = false;
    },
    async close() {
      live = false;
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

// ---------------------------------------------------------------------------
// A page faked on globalThis (document, location, window events).

/** Makes globalThis look like a page on `origin`; returns the undo. */
export function fakePage(origin: string): { doc: EventTarget & { visibilityState: string }; win: EventTarget; undo(): void } {
  const g = globalThis as Record<string, unknown>;
  const saved = ['document', 'location', 'addEventListener', 'removeEventListener'].map((k) => [k, Object.getOwnPropertyDescriptor(g, k)] as const);
  const doc = Object.assign(new EventTarget(), { visibilityState: 'visible' });
  const win = new EventTarget();
  Object.defineProperty(g, 'document', { configurable: true, value: doc });
  Object.defineProperty(g, 'location', { configurable: true, value: { origin, href: `${origin}/page` } });
  Object.defineProperty(g, 'addEventListener', { configurable: true, value: win.addEventListener.bind(win) });
  Object.defineProperty(g, 'removeEventListener', { configurable: true, value: win.removeEventListener.bind(win) });
  return {
    doc,
    win,
    undo() {
      for (const [k, d] of saved) {
        if (d) Object.defineProperty(g, k, d);
        else delete g[k];
      }
    },
  };
}

/** A collector whose every body must decode, and globalThis as a page on another origin; both undone after `t`. */
export async function pageAndCollector(t: TestContext, opts?: Parameters<typeof startCollector>[0]): Promise<{ c: Collector; page: ReturnType<typeof fakePage> }> {
  const page = fakePage('http://127.0.0.1:1');
  t.after(() => page.undo());
  const c = await startCollector(opts);
  t.after(() => c.close());
  t.after(() => assertDecoded(c));
  return { c, page };
}

export const hide = (p: ReturnType<typeof fakePage>): void => {
  p.doc.visibilityState = 'hidden';
  p.doc.dispatchEvent(new Event('visibilitychange'));
};

/**
 * A port in front of `target` that forwards each request at once, or, while
 * holding, keeps it unforwarded (in the network, as it were) until release():
 * forwarded then (marked `x-gate-held: 1`) or its connection destroyed (a
 * network error to the sender); one whose sender went away meanwhile is
 * never forwarded, and counted as cancelled.
 */
export async function gatePort(target: Collector): Promise<{
  url: string;
  hold(on: boolean): void;
  held(): number;
  cancelled(): number;
  release(how: 'forward' | 'destroy'): void;
  close(): Promise<void>;
}> {
  let holding = false;
  let cancelled = 0;
  const waiting: Array<{ req: IncomingMessage; res: ServerResponse; gone: boolean }> = [];
  const forward = (req: IncomingMessage, res: ServerResponse, mark: boolean): void =>
    forwardTo(target, req, res, mark ? { 'x-gate-held': '1' } : {});
  const server = createServer((req, res) => {
    if (!holding) return forward(req, res, false);
    const w = { req, res, gone: false };
    res.on('close', () => {
      if (!res.writableEnded && !w.gone) {
        w.gone = true;
        cancelled++;
      }
    });
    waiting.push(w);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    hold: (on) => void (holding = on),
    held: () => waiting.filter((w) => !w.gone).length,
    cancelled: () => cancelled,
    release(how) {
      for (const w of waiting.splice(0)) {
        if (w.gone) continue;
        if (how === 'forward') forward(w.req, w.res, true);
        else w.req.socket.destroy();
      }
    },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/**
 * Runs `fire` as a browser runs a listener it may end (Firefox, closing a
 * tab): V8's own termination through vm's timeout, no catch, no finally. True
 * when it was ended.
 */
export function endable(fire: () => void, timeoutMs = 300): boolean {
  try {
    vm.runInNewContext('fire()', { fire }, { timeout: timeoutMs });
    return false;
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return true;
    throw e;
  }
}

/** Where a listener is ended: spinning there until V8 stops it. */
export const spin = (): never => {
  for (;;);
};

/**
 * A tab on `storage` whose transport answers its first request 503 and holds
 * every later one: `pending` holds their rejecters (a network error when
 * called), `calls()` counts the requests. Retries wait `retryMs`.
 */
export async function tabRefusingFirst(storage: StorageLike, retryMs: number): Promise<{ tab: Tab; pending: Array<(e: unknown) => void>; calls(): number }> {
  const pending: Array<(e: unknown) => void> = [];
  let calls = 0;
  const tab = await tabFor('http://127.0.0.1:9/v1/traces', {
    storage, compression: 'none', retryInitialDelayMs: retryMs, retryMaxDelayMs: retryMs,
    transport: () => (++calls === 1 ? Promise.resolve({ status: 503 }) : new Promise((_r, reject) => void pending.push(reject))),
  });
  return { tab, pending, calls: () => calls };
}

// Differential runs for the transparency tests (transparency-*.test.ts): the
// same generated cases run by the page's own code in a page without the SDK,
// with the script tag and with init() from the ESM build — each before the
// SDK is ready (its Wasm is held back by the server until the page has run
// them) and after — and every outcome the page saw, and every request the
// servers got, is compared with the page without the SDK's.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { heldStill, startCollector, type Collector } from '../helpers/collector.js';
import type { Driver } from './sdk-env.js';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, '..', '..', 'dist');
const files: Record<string, [Buffer, string]> = {
  '/wasmtrace.js': [readFileSync(join(dist, 'wasmtrace.js')), 'text/javascript'],
  '/browser.js': [readFileSync(join(dist, 'browser.js')), 'text/javascript'],
  '/runner.js': [readFileSync(join(here, 'transparency-runner.js')), 'text/javascript'],
};
const wasm = readFileSync(join(dist, 'wasmtrace.wasm'));

/** What a server got: the request as the page sent it (propagation headers are judged by the caller). */
export interface Got { where: 'site' | 'api'; method: string; path: string; headers: Record<string, string>; body: string }

export interface Servers {
  site: string;
  api: string;
  collector: Collector;
  got: Got[];
  preflights: Got[];
  /** Serves `html` as /t.html (one page URL for every variant: the same Referer). */
  page(html: string): void;
  close(): Promise<void>;
}

/**
 * The page's test endpoints: /r/<status>, /slow (4 s: for requests an abort or a timeout cuts short
 * once the request is here (/seen), first even in a page starved by a loaded machine), /late (500 ms: nothing races it),
 * /redirect (to /r/200 beside it, with the query); under /open (propagated to) or /closed on the API.
 */
function answer(req: IncomingMessage, res: ServerResponse, body: Buffer, cors: Record<string, string>): void {
  const path = (req.url ?? '/').split('?')[0]!.replace(/^\/(open|closed)/, '');
  const echo = `${req.method} ${body.length} ${createHash('sha1').update(body).digest('hex').slice(0, 12)}`;
  const h = { ...cors, 'content-type': 'text/plain', 'x-app': 'a1', 'access-control-expose-headers': 'x-app' };
  if (path === '/redirect') return void res.writeHead(302, { ...cors, location: `${(req.url ?? '').replace(/redirect/, 'r/200')}` }).end();
  const code = Number(/^\/r\/(\d{3})$/.exec(path)?.[1] ?? 200);
  const send = (): void => void res.writeHead(code, h).end(code === 204 || code === 304 ? undefined : echo);
  if (path !== '/slow' && path !== '/late') return send();
  const t = setTimeout(send, path === '/slow' ? 4000 : 500);
  res.on('close', () => clearTimeout(t));
}

export async function startServers(): Promise<Servers> {
  const got: Got[] = [];
  const preflights: Got[] = [];
  let html = '';
  let release: () => void = () => {};
  let held = new Promise<void>((r) => (release = r));
  const serve = (where: Got['where']) => (req: IncomingMessage, res: ServerResponse): void => {
    const path = req.url ?? '/';
    const pathname = path.split('?')[0]!;
    const origin = req.headers.origin;
    const cors: Record<string, string> = origin ? { 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true', vary: 'origin' } : {};
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      // A multipart body's boundary is random: written as BOUNDARY, in the body and its type.
      const raw = Buffer.concat(chunks);
      const boundary = /boundary=(\S+)/.exec(String(req.headers['content-type']))?.[1] ?? /^--(\S+)\r\n/.exec(raw.toString('latin1'))?.[1];
      const body = boundary ? Buffer.from(raw.toString('latin1').split(boundary).join('BOUNDARY'), 'latin1') : raw;
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, boundary ? String(v).split(boundary).join('BOUNDARY') : String(v)]));
      if (boundary) delete headers['content-length']; // its length varies too (Firefox)
      delete headers.host; // the port is the same for every variant; kept out for readability
      if (req.method === 'OPTIONS') {
        preflights.push({ where, method: 'OPTIONS', path, headers, body: '' });
        return void res.writeHead(204, {
          ...cors,
          'access-control-max-age': '0', // each variant's own preflights, not the last one's cached
          'access-control-allow-headers': String(req.headers['access-control-request-headers'] ?? ''),
          'access-control-allow-methods': String(req.headers['access-control-request-method'] ?? ''),
        }).end();
      }
      const file = files[pathname];
      if (file) return void res.writeHead(200, { 'content-type': file[1], 'cache-control': 'no-store' }).end(file[0]);
      if (pathname === '/t.html') return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html);
      if (pathname === '/wasmtrace.wasm') return void held.then(() => res.writeHead(200, { 'content-type': 'application/wasm' }).end(wasm));
      if (pathname === '/release') {
        release();
        return void res.writeHead(204, cors).end();
      }
      if (pathname === '/favicon.ico') return void res.writeHead(404).end();
      if (pathname === '/seen') {
        // Whether a request of case tag ?t= has reached a server: the page cuts a request short only then.
        const tag = new URLSearchParams(path.split('?')[1] ?? '').get('t') ?? '';
        const seen = got.some((g) => new URLSearchParams(g.path.split('?')[1] ?? '').get('c') === tag);
        return void res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' }).end(seen ? '1' : '0');
      }
      got.push({ where, method: req.method ?? '', path, headers, body: body.toString('base64') });
      answer(req, res, body, cors);
    });
  };
  const listen = async (s: Server): Promise<string> => {
    s.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  };
  const servers = [createServer(serve('site')), createServer(serve('api'))];
  for (const s of servers) s.on('request', (_q, res: ServerResponse) => (res.sendDate = false));
  const [site, api] = [await listen(servers[0]!), await listen(servers[1]!)];
  const collector = await startCollector({ cors: { origins: [site] } });
  return {
    site, api, collector, got, preflights,
    page(h) {
      html = h;
      got.length = 0;
      preflights.length = 0;
      held = new Promise<void>((r) => (release = r));
    },
    async close() {
      release();
      for (const s of servers) s.closeAllConnections();
      await Promise.all([...servers.map((s) => new Promise<void>((r) => s.close(() => r()))), collector.close()]);
    },
  };
}

export type Variant = 'none' | 'tag' | 'esm';
export const VARIANTS: readonly Variant[] = ['none', 'tag', 'esm'];

/** The page of `variant` that runs `cases` with the runner's `suite`, before ready ('e') and after ('r'). */
export function pageFor(s: Servers, variant: Variant, suite: string, cases: unknown[]): string {
  const propagateTo = `${s.api}/open`;
  const sdk = variant === 'tag'
    ? `<script src="/wasmtrace.js" data-service-name="transparency" data-endpoint="${s.collector.url}" data-propagate-to="${propagateTo}" data-scheduled-delay-ms="200"></script>`
    : variant === 'esm'
      ? `<script type="module">import { init } from '/browser.js'; window.sdkReady = init({ serviceName: 'transparency', endpoint: ${JSON.stringify(s.collector.url)}, propagateTo: ${JSON.stringify(propagateTo)}, scheduledDelayMs: 200 });</script>`
      : '';
  const ready = variant === 'tag' ? 'wasmtrace.ready' : variant === 'esm' ? 'window.sdkReady' : 'undefined';
  // A module script: it runs after the ESM variant's (modules run in order), and right after the tag's task.
  return `<!doctype html><title>t</title><link rel="icon" href="data:,"><script src="/runner.js"></script>${sdk}<iframe name="sink" hidden></iframe><form id="f" action="about:blank" target="sink"><div id="outer"><button id="b" type="submit">b</button><a id="a" href="#h">a</a><input id="i" type="checkbox"></div></form>
<script type="module">window.results = runSuite(${JSON.stringify(suite)}, ${JSON.stringify(cases)}, { api: ${JSON.stringify(s.api)}, ready: () => ${ready} });</script>`;
}

export interface Run {
  /** Per case: [early outcome, ready outcome], as JSON text. */
  outcomes: Array<[string, string]>;
  /** Cases of the early phase that ran after the SDK was ready (the test would not test the early recorder). */
  lateEarly: number;
  got: Got[];
  preflights: Got[];
  /** Requests the SDK sent traceparent on although the page set none (propagation is on). */
  propagated: number;
  console: string[];
  pageErrors: string[];
}

const TRACE_HEADERS = ['traceparent', 'tracestate', 'baggage'];

/** Runs `cases` in a new tab of `d` with the SDK as `variant`. */
export async function run(d: Driver, s: Servers, variant: Variant, suite: string, cases: unknown[]): Promise<Run> {
  s.page(pageFor(s, variant, suite, cases));
  const tab = await d.newTab();
  try {
    await tab.goto(`${s.site}/t.html`);
    const r = await tab.eval<{ outcomes: Array<[string, string]>; lateEarly: number }>('window.results');
    // Requests a case left in flight (keepalive, aborted ones) reach the servers a little later.
    await heldStill(s.collector, () => s.got.length + s.preflights.length);
    let propagated = 0;
    const got = s.got.map((g) => {
      if (!propagates(s, g)) return g;
      const headers = { ...g.headers };
      // Where propagation is meant, the trace headers the app did not set itself may differ.
      // The app's own is all a's (transparency-net's xhr cases); one of the SDK's may start with a few (CI: 00-aaaa2ba7…).
      if (headers.traceparent && !headers.traceparent.startsWith(`00-${'a'.repeat(32)}-`)) {
        propagated++;
        for (const k of TRACE_HEADERS) if (!String(headers[k] ?? '').includes('app')) delete headers[k];
      }
      return { ...g, headers };
    });
    // A traceparent on a cross-origin request needs a preflight the page's own request did not.
    const preflights = s.preflights.filter((p) => !propagates(s, p));
    return { ...r, got, preflights, propagated, console: [...tab.console], pageErrors: [...tab.pageErrors] };
  } finally {
    await tab.close().catch(() => {});
  }
}

/** Whether the SDK may propagate to where `g` went: the page's origin, and the API's /open paths. */
const propagates = (s: Servers, g: Got): boolean => g.where === 'site' || g.path.startsWith('/open');

/**
 * The differences of `with_` from `base` (the page without the SDK): per
 * case, the outcomes; per case tag (`c=` in the query), the requests the
 * servers got, except for `racy` cases (whether a request the page aborts
 * at once reaches the server is up to the network); the console and the
 * page's errors.
 */
export function differences(base: Run, with_: Run, label: (i: number) => string, racy: ReadonlySet<number> = new Set()): string[] {
  const out: string[] = [];
  base.outcomes.forEach((o, i) => {
    for (const p of [0, 1]) if (o[p] !== with_.outcomes[i]?.[p]) out.push(`${label(i)} ${p ? 'ready' : 'early'}:\n    without: ${o[p]}\n    with:    ${with_.outcomes[i]?.[p]}`);
  });
  const byTag = (gs: Got[]): Map<string, string[]> => {
    const m = new Map<string, string[]>();
    for (const g of gs) {
      const tag = /[?&]c=([^&]+)/.exec(g.path)?.[1] ?? `(no tag) ${g.path}`;
      const hs = Object.keys(g.headers).sort().map((k) => `${k}: ${g.headers[k]}`);
      m.set(tag, [...(m.get(tag) ?? []), `${g.where} ${g.method} ${g.path} [${hs.join('; ')}] ${g.body.length > 80 ? `${g.body.length}b64` : g.body}`].sort());
    }
    return m;
  };
  for (const [what, a, b] of [['request', base.got, with_.got], ['preflight', base.preflights, with_.preflights]] as const) {
    const [ma, mb] = [byTag(a), byTag(b)];
    for (const tag of new Set([...ma.keys(), ...mb.keys()])) {
      const [x, y] = [JSON.stringify(ma.get(tag) ?? []), JSON.stringify(mb.get(tag) ?? [])];
      const i = Number(/^[er](\d+)/.exec(tag)?.[1] ?? NaN);
      if (x !== y && !racy.has(i)) out.push(`${what} ${tag} of ${label(i)}:\n    without: ${x}\n    with:    ${y}`);
    }
  }
  // The lines one has more of than the other (in any order: cases overlap in time).
  const extra = (a: string[], b: string[]): string[] => {
    const left = [...b];
    return a.filter((l) => {
      const i = left.indexOf(l);
      return i < 0 || void left.splice(i, 1);
    });
  };
  for (const [what, a, b] of [['console', base.console, with_.console], ['page errors', base.pageErrors, with_.pageErrors]] as const) {
    const [x, y] = [extra(a, b), extra(b, a)];
    if (x.length || y.length) out.push(`${what}:\n    without only: ${JSON.stringify(x)}\n    with only:    ${JSON.stringify(y)}`);
  }
  return out;
}

// Shared setup for the SDK's browser tests: the page, the OTLP collector and an
// API server, each on its own origin (so CORS and preflights are real), and a
// thin driver over playwright-core (Chromium) and puppeteer-core (Firefox).
import { createServer, type IncomingMessage } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, launchFirefox } from '../helpers/browser.js';
import { startCollector, startStaticServer, type Collector, type StaticServer } from '../helpers/collector.js';
import { attrs, type FlatSpan } from '../helpers/otlp.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pages = join(root, 'test', 'pages');
// Read once per test file: a build running meanwhile (other work in the checkout)
// must not swap the JS and the Wasm under a page.
const built = new Map<string, Buffer>();
const dist = (f: string): Buffer => {
  let b = built.get(f);
  if (!b) built.set(f, (b = readFileSync(join(root, 'dist', f))));
  return b;
};
for (const f of ['wasmtrace.js', 'wasmtrace.wasm', 'browser.js']) dist(f);

/** How late /slow.wasm on the API server answers, ms: far past when a loaded machine ends the load event. */
export const SLOW_WASM_MS = 5000;

export interface Api {
  origin: string;
  /** Non-OPTIONS requests with lowercase headers. */
  requests: { path: string; headers: IncomingMessage['headers'] }[];
  /** The headers each preflight asked to send (Access-Control-Request-Headers). */
  preflights: string[];
  close(): Promise<void>;
}

/** An API on its own origin: answers CORS for `pageOrigin`, allowing traceparent/tracestate/baggage. */
export async function startApi(pageOrigin: string): Promise<Api> {
  const requests: Api['requests'] = [];
  const preflights: string[] = [];
  const server = createServer((req, res) => {
    const cors = {
      'access-control-allow-origin': pageOrigin,
      'access-control-allow-headers': 'traceparent, tracestate, baggage, content-type',
      'access-control-allow-methods': 'GET, POST',
      'access-control-max-age': '600',
    };
    if (req.method === 'OPTIONS') {
      preflights.push(String(req.headers['access-control-request-headers'] ?? ''));
      return void res.writeHead(204, cors).end();
    }
    requests.push({ path: req.url ?? '', headers: req.headers });
    req.resume();
    if (req.url === '/slow.wasm') {
      // The Wasm module, late: the page must not wait for it.
      const t = setTimeout(() => res.writeHead(200, { ...cors, 'content-type': 'application/wasm' }).end(dist('wasmtrace.wasm')), SLOW_WASM_MS);
      res.on('close', () => clearTimeout(t));
      return;
    }
    req.on('end', () => res.writeHead(200, { ...cors, 'content-type': 'application/json' }).end('{"ok":true}'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    requests,
    preflights,
    close: () => new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    }),
  };
}

/**
 * A new tab on the app, exporting through `relay` (up while it loads) every
 * 100 ms and retrying only after a minute: a refused batch then waits, stored
 * or not, until the page goes. Resolves once its tracer is ready.
 */
export async function appBehindRelay(driver: Driver, env: Env, relay: Relay): Promise<{ tab: Tab; url: string }> {
  const tab = await driver.newTab();
  await relay.up();
  const url = env.appUrl({ data: { endpoint: relay.origin + '/v1/traces', 'scheduled-delay-ms': '100', 'retry-initial-delay-ms': '60000' } });
  await tab.goto(url);
  await tab.eval('wasmtrace.ready.then(() => true)');
  return { tab, url };
}

/** A TCP relay to `target` whose port can refuse connections (down) and accept them again (up). */
export interface Relay {
  /** http://127.0.0.1:<port> */
  origin: string;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startRelay(target: string): Promise<Relay> {
  const { hostname, port: targetPort } = new URL(target);
  const sockets = new Set<Socket>();
  let server: TcpServer | undefined;
  let port = 0;
  const up = async (): Promise<void> => {
    if (server) return;
    const s = createTcpServer((client) => {
      const upstream = connect(Number(targetPort), hostname);
      for (const sock of [client, upstream]) {
        sockets.add(sock);
        sock.on('close', () => sockets.delete(sock));
        sock.on('error', () => sock.destroy());
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((r, j) => s.once('error', j).listen(port, '127.0.0.1', () => r()));
    port = (s.address() as AddressInfo).port;
    server = s;
  };
  const down = async (): Promise<void> => {
    const s = server;
    server = undefined;
    for (const sock of sockets) sock.destroy();
    if (s) await new Promise<void>((r) => s.close(() => r()));
  };
  await up();
  return { origin: `http://127.0.0.1:${port}`, up, down, close: down };
}

export interface TagOptions {
  /** data-* attributes besides service name and endpoint. */
  data?: Record<string, string>;
  /** No tracer on the page at all. */
  none?: boolean;
  /** Load the ESM entry with init() instead of the script tag (a module script, for CSP-free pages). */
  esm?: string;
}

export interface Env {
  site: StaticServer;
  api: Api;
  other: Api;
  collector: Collector;
  /** URL of the app page with the tracer set up by `tag`. */
  appUrl(tag?: TagOptions): string;
  close(): Promise<void>;
}

let pageCounter = 0;

/** Servers for one test; `csp` is sent with every page response. */
export async function startEnv(opts: { csp?: string } = {}): Promise<Env> {
  const template = readFileSync(join(pages, 'app.html'), 'utf8');
  const variants = new Map<string, string>();
  const routes: Record<string, (req: IncomingMessage) => { body: string | Uint8Array; type?: string; headers?: Record<string, string> }> = {
    '/wasmtrace.js': () => ({ body: dist('wasmtrace.js'), type: 'text/javascript' }),
    '/wasmtrace.wasm': () => ({ body: dist('wasmtrace.wasm'), type: 'application/wasm' }),
    '/browser.js': () => ({ body: dist('browser.js'), type: 'text/javascript' }),
    '/app.html': (req) => {
      const v = new URL(req.url ?? '/', 'http://x').searchParams.get('v') ?? '';
      return { body: variants.get(v) ?? 'no such variant', type: 'text/html; charset=utf-8' };
    },
  };
  const site = await startStaticServer({ dir: pages, routes, headers: opts.csp ? { 'content-security-policy': opts.csp } : {} });
  const [api, other, collector] = await Promise.all([
    startApi(site.origin),
    startApi(site.origin),
    startCollector({ cors: { origins: [site.origin], maxAgeS: 600 } }),
  ]);
  return {
    site, api, other, collector,
    appUrl(tag = {}) {
      const key = String(++pageCounter);
      const data: Record<string, string> = {
        'service-name': 'e2e-web', endpoint: collector.url, 'propagate-to': api.origin, 'scheduled-delay-ms': '200',
        ...tag.data,
      };
      const attrsText = Object.entries(data).map(([k, v]) => ` data-${k}="${v}"`).join('');
      const tracer = tag.none ? '' : tag.esm ? `<script type="module" src="${tag.esm}"></script>` : `<script src="/wasmtrace.js"${attrsText}></script>`;
      variants.set(key, template.replace('{{API}}', api.origin).replace('{{OTHER}}', other.origin).replace('{{COLLECTOR}}', collector.url).replace('{{TRACER}}', tracer));
      return `${site.origin}/app.html?v=${key}`;
    },
    async close() {
      await Promise.all([site.close(), api.close(), other.close(), collector.close()]);
    },
  };
}

// ---------------------------------------------------------------------------
// Browser driver: the few calls the tests need, over either library.

export interface Tab {
  goto(url: string): Promise<void>;
  /** Evaluates a JS expression (awaited) in the page. */
  eval<T = unknown>(expression: string): Promise<T>;
  click(selector: string): Promise<void>;
  /** Closes the tab the way a user does (unload handlers run). */
  close(): Promise<void>;
  /** Console messages and uncaught page errors seen so far. */
  readonly console: string[];
  readonly pageErrors: string[];
}

export interface Driver {
  readonly name: 'chromium' | 'firefox';
  newTab(): Promise<Tab>;
  close(): Promise<void>;
}

export async function chromiumDriver(): Promise<Driver> {
  const browser = await launchChromium();
  const context = await browser.newContext();
  return {
    name: 'chromium',
    async newTab() {
      const page = await context.newPage();
      const consoleLines: string[] = [];
      const pageErrors: string[] = [];
      page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
      page.on('pageerror', (e) => pageErrors.push(e.message));
      return {
        console: consoleLines,
        pageErrors,
        goto: async (url) => void (await page.goto(url, { waitUntil: 'load' })),
        eval: (expression) => page.evaluate(expression),
        click: (selector) => page.click(selector),
        close: () => page.close({ runBeforeUnload: true }),
      };
    },
    close: () => browser.close(),
  };
}

export async function firefoxDriver(): Promise<Driver> {
  const browser = await launchFirefox();
  return {
    name: 'firefox',
    async newTab() {
      const page = await browser.newPage();
      const consoleLines: string[] = [];
      const pageErrors: string[] = [];
      page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
      page.on('pageerror', (e) => pageErrors.push(e instanceof Error ? e.message : String(e)));
      return {
        console: consoleLines,
        pageErrors,
        goto: async (url) => void (await page.goto(url, { waitUntil: 'load' })),
        eval: (expression) => page.evaluate(expression) as Promise<never>,
        click: (selector) => page.click(selector),
        close: () => page.close({ runBeforeUnload: true }),
      };
    },
    close: () => browser.close(),
  };
}

// ---------------------------------------------------------------------------
// Span helpers

export const attr = (s: FlatSpan, key: string): unknown => attrs(s.attributes)[key];
export const ns = (s: FlatSpan, which: 'start' | 'end'): bigint => BigInt(which === 'start' ? s.startTimeUnixNano : s.endTimeUnixNano);
export const named = (c: Collector, name: string): FlatSpan[] => c.spans().filter((s) => s.name === name);

/** Waits until `pred` holds for the collector's spans; the message lists span names on failure. */
export async function waitSpans(c: Collector, pred: (spans: FlatSpan[]) => boolean, timeoutMs = 15_000): Promise<FlatSpan[]> {
  try {
    await c.waitFor(() => pred(c.spans()), timeoutMs);
  } catch (e) {
    throw new Error(`${(e as Error).message}; spans: ${JSON.stringify(c.spans().map((s) => s.name))}`);
  }
  return c.spans();
}

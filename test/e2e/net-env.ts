// Servers for the fetch/XHR edge-case tests (net-*.test.ts): a probe that
// serves the page and the built SDK and answers test requests, on two origins
// (the page's, and an API's) so CORS and preflights are real; and the OTLP
// collector. The probe records every request it gets.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { startCollector, type Collector } from '../helpers/collector.js';
import { chromiumDriver, firefoxDriver, type Driver, type Tab } from './sdk-env.js';
import { attrs, type FlatSpan } from '../helpers/otlp.js';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist');
// Read once: a build meanwhile must not swap the JS and the Wasm under a page.
const files: Record<string, [Buffer, string]> = {
  '/wasmtrace.js': [readFileSync(join(dist, 'wasmtrace.js')), 'text/javascript'],
  '/wasmtrace.wasm': [readFileSync(join(dist, 'wasmtrace.wasm')), 'application/wasm'],
  '/browser.js': [readFileSync(join(dist, 'browser.js')), 'text/javascript'],
};

export interface Seen { method: string; path: string; headers: IncomingMessage['headers']; bodyLength: number }

/**
 * A server that records what it gets. Paths:
 * - /strict/… allows the page's simple requests only (a preflight is answered
 *   without Access-Control-Allow-Headers, so a traceparent makes it fail);
 * - other paths allow any header and method;
 * - …/status/N answers N; …/slow… answers after 4 s; …/redirect… answers 302;
 * - pages: set with page(path, html).
 */
export interface Probe {
  origin: string;
  seen: Seen[];
  preflights: { path: string; headers: string }[];
  page(path: string, html: string): void;
  close(): Promise<void>;
}

export async function startProbe(): Promise<Probe> {
  const seen: Seen[] = [];
  const preflights: Probe['preflights'] = [];
  const pages = new Map<string, string>();
  const server = createServer((req, res: ServerResponse) => {
    const path = req.url ?? '/';
    const pathname = path.split('?')[0] as string;
    const origin = req.headers.origin;
    const cors: Record<string, string> = origin ? { 'access-control-allow-origin': origin, vary: 'origin' } : {};
    if (req.method === 'OPTIONS') {
      preflights.push({ path, headers: String(req.headers['access-control-request-headers'] ?? '') });
      if (!pathname.startsWith('/strict')) {
        cors['access-control-allow-headers'] = String(req.headers['access-control-request-headers'] ?? '');
        cors['access-control-allow-methods'] = String(req.headers['access-control-request-method'] ?? '');
      }
      return void res.writeHead(204, cors).end();
    }
    const file = files[pathname];
    if (file) return void res.writeHead(200, { 'content-type': file[1] }).end(file[0]);
    const html = pages.get(pathname);
    if (html !== undefined) return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(html);
    let bodyLength = 0;
    req.on('data', (d: Buffer) => (bodyLength += d.length));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', path, headers: req.headers, bodyLength });
      const code = /\/status\/(\d{3})/.exec(pathname)?.[1];
      if (pathname.includes('/redirect')) return void res.writeHead(302, { ...cors, location: '/status/200' }).end();
      const answer = (): void => void res.writeHead(code ? Number(code) : 200, { ...cors, 'content-type': 'text/plain' }).end(code === '204' || code === '304' ? undefined : 'ok');
      if (pathname.includes('/slow')) {
        const t = setTimeout(answer, 4000); // an abort at 80 ms comes first, even in a page starved by a loaded machine (1.5 s was once too short)
        res.on('close', () => clearTimeout(t));
      } else answer();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    preflights,
    page: (path, html) => void pages.set(path, html),
    close: () => new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    }),
  };
}

export interface NetEnv { site: Probe; api: Probe; collector: Collector; close(): Promise<void> }

export async function startNetEnv(): Promise<NetEnv> {
  const [site, api] = await Promise.all([startProbe(), startProbe()]);
  const collector = await startCollector({ cors: { origins: [site.origin] } });
  return { site, api, collector, close: async () => void (await Promise.all([site.close(), api.close(), collector.close()])) };
}

/**
 * A page with the script tag (propagateTo: the API's /open paths), `head`
 * before it and `script` after it (the page's own code, run before the SDK
 * is ready).
 */
export function tagPage(env: NetEnv, head: string, script: string, data: Record<string, string> = {}): string {
  const d = { 'service-name': 'net-edge', endpoint: env.collector.url, 'propagate-to': `${env.api.origin}/open`, 'scheduled-delay-ms': '200', ...data };
  const a = Object.entries(d).map(([k, v]) => ` data-${k}="${v}"`).join('');
  return `<!doctype html><title>net</title>${head}<script src="${env.site.origin}/wasmtrace.js"${a}></script><script>${script}</script>`;
}

/** A refused port: a server's, closed. */
export async function deadOrigin(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

export { prng } from '../../demo/collector/synthetic.mjs'; // mulberry32, seeded
export const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;

export const A = (s: FlatSpan): Record<string, unknown> => attrs(s.attributes);
/** CLIENT spans whose url.full contains `tag`. */
export const clientSpans = (c: Collector, tag: string): FlatSpan[] => c.spans().filter((s) => s.kind === 3 && String(A(s)['url.full']).includes(tag));

/** Registers `Chromium: <title>` and `Firefox ESR: <title>`, each with a browser of its own. */
export function inBoth(title: string, fn: (d: Driver) => Promise<void>): void {
  for (const [name, driver] of [['Chromium', chromiumDriver], ['Firefox ESR', firefoxDriver]] as const) {
    test(`${name}: ${title}`, async (t) => {
      const d = await driver();
      t.after(() => d.close());
      await fn(d);
    });
  }
}

/** Loads `url`, waits for the page's early work (`window.early`), for ready, and runs `ready` (an expression). */
export async function earlyThenReady(tab: Tab, url: string, ready: string): Promise<void> {
  await tab.goto(url);
  await tab.eval('Promise.resolve(window.early).then(() => wasmtrace.ready).then(() => true)');
  await tab.eval(`(async () => { await (${ready}); return true; })()`);
  await tab.eval('wasmtrace.flush().then(() => true)');
}

// A collector endpoint behind a proxy that answers the export's POST with a
// 301/302/303 (an SSO proxy sending to its sign-in page, an endpoint moved
// with a plain redirect) to a URL that answers a GET with 200: fetch follows
// it as a GET without the body, and the page took the sign-in page's 200 for
// the collector's. Every batch was counted sent (flush's `sent`), nothing
// reached a collector and no loss was counted. A 307/308 keeps the POST: its
// collector's answer is one. Real Chromium and Firefox ESR, cross-origin
// (CORS on every hop), generated span counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { prng } from '../../demo/collector/synthetic.mjs';
import { attr, chromiumDriver, firefoxDriver, startEnv, type Driver } from './sdk-env.js';

interface Proxy {
  origin: string;
  code: number;
  gets: number;
  close(): Promise<void>;
}

/** A proxy before the collector: POST /v1/traces gets `code`; a 307/308 leads to /in (forwarded to the collector), others to /sign-in (a GET's 200 page). */
async function startProxy(pageOrigin: string, collectorUrl: string): Promise<Proxy> {
  const cors = { 'access-control-allow-origin': pageOrigin, vary: 'origin' };
  const p: Proxy = { origin: '', code: 302, gets: 0, close: async () => {} };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (req.method === 'OPTIONS') {
        res.writeHead(204, { ...cors, 'access-control-allow-methods': 'POST', 'access-control-allow-headers': 'content-type, content-encoding', 'access-control-max-age': '600' });
        return void res.end();
      }
      if (req.method === 'POST' && path === '/v1/traces') {
        res.writeHead(p.code, { ...cors, location: p.code === 307 || p.code === 308 ? '/in' : '/sign-in' });
        return void res.end();
      }
      if (req.method === 'POST' && path === '/in') {
        // A page's last export (at its close) may arrive as the test closes the collector: a 502 then.
        try {
          const init = { method: 'POST', body: Buffer.concat(chunks), headers: { 'content-type': String(req.headers['content-type']), ...(req.headers['content-encoding'] && { 'content-encoding': String(req.headers['content-encoding']) }) } };
          // Once more on a network error: undici may reuse a keep-alive connection the collector just closed.
          const up = await fetch(collectorUrl, init).catch(() => fetch(collectorUrl, init));
          const body = Buffer.from(await up.arrayBuffer());
          res.writeHead(up.status, { ...cors, 'content-type': up.headers.get('content-type') ?? 'application/x-protobuf' });
          return void res.end(body);
        } catch {
          return void (res.writeHead(502, cors), res.end());
        }
      }
      p.gets++;
      res.writeHead(200, { ...cors, 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><title>Sign in</title><form method="post" action="/login"></form>');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  p.origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  p.close = () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r())));
  return p;
}

for (const [label, make] of [['Chromium', chromiumDriver], ['Firefox ESR', firefoxDriver]] as const) {
  test(`${label}: an export redirected to a GET answering 200 is not counted sent; one through a 307/308 is`, async () => {
    const driver: Driver = await make();
    const env = await startEnv();
    const proxy = await startProxy(env.site.origin, env.collector.url);
    const r = prng(label.length * 31);
    try {
      for (const code of [301, 302, 303, 307, 308]) {
        proxy.code = code;
        const gets = proxy.gets;
        const tab = await driver.newTab();
        await tab.goto(env.appUrl({ data: { endpoint: proxy.origin + '/v1/traces', 'scheduled-delay-ms': '600000', 'max-attempts': '1' } }));
        await tab.eval('wasmtrace.ready.then(() => true)');
        const run = `redirect-${code}`;
        const n = 1 + Math.floor(r() * 20);
        const [result, stats] = await tab.eval<[{ sent: number; dropped: number }, { droppedRejected: number }]>(
          `wasmtrace.ready.then(async (t) => { app.spans(${JSON.stringify(run)}, ${n}); const res = await t.flush(); return [res, t.stats()]; })`,
        );
        const got = env.collector.spans().filter((s) => s.name === 'work' && attr(s, 'test.run') === run).length;
        if (code === 307 || code === 308) {
          assert.equal(got, n, `${code}: the collector got each span`);
          assert.ok(result.sent >= n && result.dropped === 0, `${code}: counted sent (${JSON.stringify(result)})`);
        } else {
          assert.equal(got, 0, `${code}: no span reached the collector`);
          assert.ok(proxy.gets > gets, `${code}: the browser followed with a GET`);
          assert.equal(result.sent, 0, `${code}: nothing counted sent (${JSON.stringify(result)})`);
          assert.ok(stats.droppedRejected >= n, `${code}: the loss counted (${JSON.stringify(stats)})`);
        }
        await tab.close();
      }
    } finally {
      await proxy.close();
      await env.close();
      await driver.close();
    }
  });
}

// A collector behind a 307/308 redirect (an ingress's http→https or path
// redirect: nginx-ingress answers 308): fetch must follow it with the body.
// Node's (undici, v20) failed every such export with "Cannot perform
// ArrayBuffer.prototype.slice on a detached ArrayBuffer": taken for a
// network error, each batch was retried, parked, and lost at shutdown. A
// 301/302/303 turns the POST into a GET (Fetch), answered 405 here: rejected,
// counted. Generated codes, hops and span counts; real node:http servers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { startCollector } from '../helpers/collector.js';
import { prng } from '../../demo/collector/synthetic.mjs';
import { endSpans, received, tabFor, tracerFor } from './delivery-harness.js';

const CASES = 16;

test(`exports follow 307/308 redirects with their body (${CASES} generated)`, async (t) => {
  const c = await startCollector();
  t.after(() => c.close());
  let code = 307;
  let hops = 1;
  // /h<k> redirects to /h<k+1>, the last hop to the collector.
  const redirector: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const k = Number(req.url!.slice(2));
      res.writeHead(code, { location: k + 1 < hops ? `/h${k + 1}` : c.url });
      res.end();
    });
  });
  await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', () => r()));
  t.after(() => redirector.close());
  const base = `http://127.0.0.1:${(redirector.address() as { port: number }).port}`;
  const r = prng(308);
  for (let i = 0; i < CASES; i++) {
    code = r() < 0.5 ? 307 : 308;
    hops = 1 + Math.floor(r() * 3);
    const json = r() < 0.3;
    const tracer = await tracerFor(`${base}/h0`, { maxAttempts: 1, ...(json && { protocol: 'http/json' as const }) });
    const n = 1 + Math.floor(r() * 30);
    endSpans(tracer, n, `rd${i}`);
    assert.deepEqual(await tracer.flush(), { sent: n, queued: 0, dropped: 0 }, `case ${i}: ${code}, ${hops} hop(s)`);
    await tracer.shutdown();
    assert.equal(received(c).user.filter((s) => s.name.startsWith(`rd${i}-`)).length, n, `case ${i}: every span arrived`);
  }
});

// A collector behind a proxy that answers a POST with 301/302/303 (an SSO
// proxy's redirect to its sign-in page, a moved endpoint): fetch follows
// with a GET and no body, and the page there answers 200. Nothing reached a
// collector: counted sent, the batch was lost with no trace of it. A 2xx
// after a redirect that is no OTLP answer (OTLP: the server answers with the
// request's Content-Type) is not a delivery: rejected, and counted.
test('a POST redirected to a GET that answers 200 is not counted delivered (301/302/303)', async (t) => {
  const c = await startCollector();
  t.after(() => c.close());
  let code = 302;
  const gets: string[] = [];
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method === 'POST') {
        res.writeHead(code, { location: '/sign-in' });
        return void res.end();
      }
      gets.push(req.method!);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><title>Sign in</title><form method=post></form>');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.after(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  for (const [i, status] of [301, 302, 303].entries()) {
    code = status;
    const tab = await tabFor(`${base}/v1/traces`, { maxAttempts: 1 });
    endSpans(tab.tracer, 3 + i, `get${i}`);
    const r = await tab.tracer.flush();
    assert.equal(gets.length, i + 1, `${status}: fetch followed with a GET`);
    assert.deepEqual(r, { sent: 0, queued: 0, dropped: 3 + i }, `${status}: not counted sent`);
    assert.equal(tab.pipeline.stats().droppedRejected, 3 + i, `${status}: counted rejected`);
    await tab.tracer.shutdown();
  }
  // 307 and 308 keep the POST: the collector's answer after them is one.
  for (const status of [307, 308]) {
    const hop: Server = createServer((req, res) => {
      req.resume();
      req.on('end', () => (res.writeHead(status, { location: c.url }), res.end()));
    });
    await new Promise<void>((r) => hop.listen(0, '127.0.0.1', () => r()));
    t.after(() => hop.close());
    for (const protocol of ['http/protobuf', 'http/json'] as const) {
      const tracer = await tracerFor(`http://127.0.0.1:${(hop.address() as { port: number }).port}/v1/traces`, { maxAttempts: 1, protocol });
      endSpans(tracer, 4, `keep${status}${protocol}`);
      assert.deepEqual(await tracer.flush(), { sent: 4, queued: 0, dropped: 0 }, `${status} ${protocol}`);
      await tracer.shutdown();
    }
  }
});

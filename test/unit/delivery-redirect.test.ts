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
import { endSpans, received, tracerFor } from './delivery-harness.js';

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

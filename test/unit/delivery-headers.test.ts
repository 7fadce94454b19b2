// Request headers and options fetch refuses. A header fetch would refuse (a
// name with a space, a value beyond Latin-1 or with a control character, from the option or percent-
// decoded from OTEL_EXPORTER_OTLP_HEADERS) failed every export as a network
// error, retried and parked with no warning; it is dropped at option
// resolution with one warning naming it, and the rest are sent. A request
// that cannot be made at all is dropped at once, not retried. Node's fetch
// against a real node:http collector; generated header sets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCollector } from '../helpers/collector.js';
import { prng } from '../../demo/collector/synthetic.mjs';
import { endSpans, tabFor, tracerFor } from './delivery-harness.js';
import { resolveDeliveryOptions } from '../../src/export/options.js';

const CASES = 40;

/** Text fetch refuses in a header name, or in a value. */
const BAD_NAME = [' ', '(', ':', '@', '"', 'é', '\u20ac', '/', '{', '\t'];
// \x01, \x1b and \x7f: Node's Headers takes them, its fetch refuses them (HTTP's field-value rule).
const BAD_VALUE = ['\u20ac', '\u{1F600}', '\u4e2d', '\n', '\r', '\0', '\x01', '\x1b', '\x7f'];

test(`headers fetch refuses are dropped with one warning naming each, the rest sent (${CASES} generated sets)`, async () => {
  const c = await startCollector();
  const warned: string[] = [];
  const warn = console.warn;
  console.warn = (...a: unknown[]) => void warned.push(a.join(' '));
  try {
    const r = prng(505);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    for (let i = 0; i < CASES; i++) {
      const good: Record<string, string> = {};
      const bad: Record<string, string> = {};
      for (let j = 0, n = 1 + Math.floor(r() * 4); j < n; j++) {
        const name = `x-h${i}-${j}`;
        const kind = r();
        if (kind < 0.4) good[name] = `v${j}-${Math.floor(r() * 1e6)}`;
        else if (kind < 0.7) bad[`x-${pick(BAD_NAME)}h${i}-${j}`] = 'v';
        else bad[name] = `k${pick(BAD_VALUE)}${j}`;
      }
      const all = { ...good, ...bad };
      // Half from the option, half from OTEL_EXPORTER_OTLP_HEADERS (percent-encoded as the variable is).
      const fromEnv = i % 2 === 1;
      const env = { OTEL_EXPORTER_OTLP_HEADERS: Object.entries(all).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join(',') };
      warned.length = 0;
      const tracer = await tracerFor(c.url, fromEnv ? { env } : { headers: all }, i % 4 < 2);
      const before = c.requests.length;
      endSpans(tracer, 2, `set${i}`);
      const res = await tracer.flush();
      assert.deepEqual(res, { sent: 2, queued: 0, dropped: 0 }, `set ${i}: ${JSON.stringify(Object.keys(all))}`);
      const got = c.requests[before]!.headers;
      for (const [k, v] of Object.entries(good)) assert.equal(got[k], v, `set ${i}: ${k} sent`);
      for (const k of Object.keys(bad)) {
        assert.equal(warned.filter((w) => w.includes(JSON.stringify(k))).length, 1, `set ${i}: one warning names ${JSON.stringify(k)}: ${JSON.stringify(warned)}`);
        assert.ok(!warned.some((w) => w.includes(bad[k]!)), `set ${i}: the value is not printed`);
      }
      assert.equal(warned.length, Object.keys(bad).length, `set ${i}: ${JSON.stringify(warned)}`);
      await tracer.shutdown();
    }
  } finally {
    console.warn = warn;
    await c.close();
  }
});

test('a request fetch cannot make (an endpoint with credentials) drops its batch at once, not retried', async () => {
  const c = await startCollector();
  try {
    const url = new URL(c.url);
    url.username = 'user';
    url.password = 'secret';
    const tab = await tabFor(url.href, { maxAttempts: 5 });
    endSpans(tab.tracer, 3);
    assert.deepEqual(await tab.pipeline.flush(), { sent: 0, queued: 0, dropped: 3 });
    assert.deepEqual(tab.pipeline.stats(), { droppedRejected: 3, droppedQueueFull: 0, droppedUnsent: 0 });
    assert.equal(c.requests.length, 0);
    await tab.pipeline.shutdown();
  } finally {
    await c.close();
  }
});

// Content-Type / Content-Encoding among the user's headers: fetch joined a
// `Content-Type` with delivery's `content-type` into one comma-separated
// value, which a Collector refuses (415: its media-type check, modelled
// here), and a `Content-Encoding` claimed a coding the body does not have.
// Delivery's own win whatever the case, with one warning.
test(`Content-Type and Content-Encoding in headers, in any case: delivery's own are sent (${CASES} generated)`, async () => {
  const c = await startCollector({
    respond: (req) => (/^application\/(x-protobuf|json)\s*(;.*)?$/.test(req.headers['content-type'] ?? '') ? {} : { status: 415 }),
  });
  const warned: string[] = [];
  const warn = console.warn;
  console.warn = (...a: unknown[]) => void warned.push(a.join(' '));
  try {
    const r = prng(606);
    const anyCase = (s: string): string => [...s].map((ch) => (r() < 0.5 ? ch.toUpperCase() : ch)).join('');
    for (let i = 0; i < CASES; i++) {
      const json = r() < 0.5;
      const gzip = r() < 0.5;
      const user: Record<string, string> = { [`x-keep-${i}`]: 'k' };
      if (r() < 0.7) user[anyCase('content-type')] = json ? 'application/json' : pick(r, ['application/x-protobuf', 'text/plain', 'application/json']);
      if (r() < 0.7 || Object.keys(user).length === 1) user[anyCase('content-encoding')] = pick(r, ['gzip', 'br', 'identity']);
      const fromEnv = r() < 0.5;
      const env = { OTEL_EXPORTER_OTLP_HEADERS: Object.entries(user).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join(',') };
      warned.length = 0;
      const tracer = await tracerFor(c.url, { protocol: json ? 'http/json' : 'http/protobuf', compression: gzip ? 'gzip' : 'none', ...(fromEnv ? { env } : { headers: user }) });
      const before = c.requests.length;
      endSpans(tracer, 2, `ct${i}`, 400);
      assert.deepEqual(await tracer.flush(), { sent: 2, queued: 0, dropped: 0 }, `case ${i}: ${JSON.stringify(user)} json ${json} gzip ${gzip}`);
      const got = c.requests[before]!;
      assert.equal(got.headers['content-type'], json ? 'application/json' : 'application/x-protobuf', `case ${i}`);
      assert.equal(got.headers['content-encoding'], gzip ? 'gzip' : undefined, `case ${i}`);
      assert.equal(got.headers[`x-keep-${i}`], 'k');
      // One warning per header dropped (resolved again: the console hears each message once per process).
      const heard: string[] = [];
      resolveDeliveryOptions(fromEnv ? { env } as never : { headers: user }, fromEnv ? env : {}, (m) => heard.push(m));
      assert.deepEqual(heard.sort(), Object.keys(user).filter((k) => k !== `x-keep-${i}`).map((k) => `bad header ${JSON.stringify(k)}; using none`).sort(), `case ${i}`);
      assert.ok(!warned.some((w) => w.includes('x-keep')), `case ${i}`);
      await tracer.shutdown();
    }
  } finally {
    console.warn = warn;
    await c.close();
  }
});

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

// The WASI library end to end: the demo job (dist/demo-wasi*.wasm, built by
// scripts/build.mjs) runs under node:wasi in a worker, with WasmEdge's socket
// calls supplied over node:net by demo/wasi-job/host.mjs; its spans go to a
// node:http collector on 127.0.0.1 and are decoded by the independent decoder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runWasi } from '../../demo/wasi-job/host.mjs';
import { startCollector } from '../helpers/collector.js';
import { allSpans, decodeJson, decodeProtobuf, type FlatSpan } from '../helpers/otlp.js';
import { parseBaggage } from '../../src/baggage.js';
import { envValue } from '../../src/env.js';
import { VERSION } from '../../src/version.js';
import { prng } from '../../demo/collector/synthetic.mjs'; // mulberry32, seeded

const dist = fileURLToPath(new URL('../../dist/', import.meta.url));
const SOCKETS = join(dist, 'demo-wasi.wasm');
const LINES = join(dist, 'demo-wasi-lines.wasm');
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';

/** Spans the demo job makes for `orders` orders: order o has 1 + o % 6 items. */
function expectedSpans(orders: number): number {
  let n = 1;
  for (let o = 0; o < orders; o++) n += 3 + 1 + (o % 6);
  return n;
}

const byName = (spans: FlatSpan[], name: string) => spans.filter((s) => s.name === name);

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

test('the demo job exports OTLP/HTTP protobuf through WasmEdge socket calls and continues TRACEPARENT', async () => {
  const collector = await startCollector();
  try {
    const r = await runWasi({
      wasm: SOCKETS,
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.origin,
        OTEL_SERVICE_NAME: 'pricing-test',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=test,team=checkout%20core',
        OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=secret%20value',
        TRACEPARENT: `00-${TRACE_ID}-${PARENT_ID}-01`,
        TRACESTATE: 'vendor=abc',
        ORDERS: '4',
      },
    });
    assert.equal(r.stderr.replace(/.*ExperimentalWarning.*\n?/g, ''), '');
    assert.equal(r.exitCode, 0);
    assert.equal(collector.requests.length, 1);
    const req = collector.requests[0]!;
    assert.equal(req.path, '/v1/traces');
    assert.equal(req.headers['content-type'], 'application/x-protobuf');
    assert.equal(req.headers['content-length'], String(req.rawBody.length));
    assert.equal(req.headers['x-api-key'], 'secret value');
    assert.equal(req.error, undefined);

    const spans = collector.spans();
    assert.equal(spans.length, expectedSpans(4));
    for (const s of spans) {
      assert.equal(s.traceId, TRACE_ID);
      assert.equal(s.traceState, 'vendor=abc');
      assert.deepEqual(s.resource, {
        'deployment.environment': 'test', team: 'checkout core', 'service.name': 'pricing-test',
        'telemetry.sdk.name': 'wasmtrace', 'telemetry.sdk.language': 'assemblyscript', 'telemetry.sdk.version': VERSION,
      });
      assert.equal(s.scope.name, 'wasmtrace');
      assert.ok(BigInt(s.endTimeUnixNano) >= BigInt(s.startTimeUnixNano));
    }
    const [job] = byName(spans, 'pricing-job');
    assert.ok(job);
    assert.equal(job.parentSpanId, PARENT_ID);
    assert.equal(job.flags, 0x301, 'sampled, with a remote parent');
    assert.equal(job.kind, 5, 'SPAN_KIND_CONSUMER');
    const orders = byName(spans, 'price-order');
    assert.equal(orders.length, 4);
    for (const o of orders) {
      assert.equal(o.parentSpanId, job.spanId);
      assert.equal(o.flags, 0x101, 'local parent');
      const kids = spans.filter((s) => s.parentSpanId === o.spanId).map((s) => s.name);
      assert.ok(kids.includes('apply-discount') && kids.includes('add-tax'), kids.join());
    }
    const lookups = byName(spans, 'catalog.lookup');
    assert.equal(lookups.length, 1 + 2 + 3 + 4);
    assert.equal(lookups[0]!.kind, 3, 'SPAN_KIND_CLIENT');
    assert.deepEqual(lookups[0]!.attributes, [
      { key: 'catalog.item', value: { stringValue: 'mug' } },
      { key: 'catalog.price', value: { doubleValue: 12.5 } },
    ]);
    const tax = byName(spans, 'add-tax')[0]!;
    assert.deepEqual(tax.attributes.find((a) => a.key === 'tax.regions')?.value,
      { arrayValue: { values: [{ stringValue: 'EU' }, { stringValue: 'FR' }] } });
    assert.deepEqual(tax.attributes.find((a) => a.key === 'tax.brackets')?.value,
      { arrayValue: { values: [{ intValue: '0' }, { intValue: '10' }, { intValue: '20' }] } }, 'integer arrays keep their values');
    const ok = orders.filter((o) => o.status.code === 1);
    assert.equal(ok.length, 4, 'orders of up to 4 items are OK');

    // The shim hands out large, non-sequential fds, as WasmEdge does.
    assert.ok(r.socketFds.length >= 2, 'a probe socket and the export socket');
    for (const fd of r.socketFds) assert.ok(fd >= 0x100000, `fd ${fd}`);
    assert.notEqual(r.socketFds[1]! - r.socketFds[0]!, 1);
    assert.equal(r.socketCalls.CLOSE, r.socketFds.length, 'every socket is closed');
  } finally {
    await collector.close();
  }
});

test('span limits from OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT and OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT, as in JS; the resource is exempt', async () => {
  const collector = await startCollector();
  try {
    const r = await runWasi({
      wasm: SOCKETS,
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.origin, OTEL_SERVICE_NAME: 'limits-test', OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: '1', OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '1', ORDERS: '2' },
    });
    assert.equal(r.exitCode, 0, r.stderr);
    const spans = collector.spans();
    assert.equal(spans.length, expectedSpans(2));
    for (const s of spans) {
      assert.ok(s.attributes.length <= 1, `${s.name}: ${JSON.stringify(s.attributes)}`);
      assert.equal(s.resource['service.name'], 'limits-test');
    }
    const lookup = byName(spans, 'catalog.lookup')[0]!;
    assert.deepEqual(lookup.attributes, [{ key: 'catalog.item', value: { stringValue: 'm' } }]);
    assert.equal(lookup.droppedAttributesCount, 1);
    // The job sets tax.rate first: the count limit keeps it alone.
    const tax = byName(spans, 'add-tax')[0]!;
    assert.deepEqual(tax.attributes, [{ key: 'tax.rate', value: { doubleValue: 0.2 } }]);
    assert.equal(tax.droppedAttributesCount, 2);
  } finally {
    await collector.close();
  }
});

test('OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT cuts each element of a string array, as in JS; the count limit keeps the first attributes set', async () => {
  const collector = await startCollector();
  try {
    // add-tax sets tax.rate, tax.regions ['EU', 'FR'], tax.brackets [0, 10, 20] (demo/wasi-job/job.ts).
    const all = (length: number) => [
      { key: 'tax.rate', value: { doubleValue: 0.2 } },
      { key: 'tax.regions', value: { arrayValue: { values: ['EU', 'FR'].map((v) => ({ stringValue: v.slice(0, length) })) } } },
      { key: 'tax.brackets', value: { arrayValue: { values: [{ intValue: '0' }, { intValue: '10' }, { intValue: '20' }] } } },
    ];
    for (const [count, length] of [[2, 1], [3, 1], [3, 2], [2, 3]] as const) {
      const r = await runWasi({
        wasm: SOCKETS,
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.origin, OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: String(count), OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: String(length), ORDERS: '1' },
      });
      assert.equal(r.exitCode, 0, r.stderr);
      const tax = byName(collector.spans(), 'add-tax').at(-1)!;
      assert.deepEqual(tax.attributes, all(length).slice(0, count), `count ${count}, length ${length}`);
      assert.equal(tax.droppedAttributesCount, 3 - count);
    }
  } finally {
    await collector.close();
  }
});

test('a host name is resolved with sock_getaddrinfo; errors and exceptions reach the collector', async () => {
  const collector = await startCollector();
  try {
    const port = new URL(collector.origin).port;
    const r = await runWasi({
      wasm: SOCKETS,
      env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `http://localhost:${port}/v1/traces`, ORDERS: '6' },
    });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.ok((r.socketCalls.GETADDRINFO ?? 0) >= 1);
    const spans = collector.spans();
    assert.equal(spans.length, expectedSpans(6));
    const failed = byName(spans, 'price-order').filter((s) => s.status.code === 2);
    assert.equal(failed.length, 2, 'the 5- and 6-item orders');
    assert.equal(failed[0]!.status.message, 'express shipping refused');
    const ex = failed[0]!.events.find((e) => e.name === 'exception');
    assert.deepEqual(ex?.attributes, [
      { key: 'exception.message', value: { stringValue: 'too many items for express shipping' } },
      { key: 'exception.type', value: { stringValue: 'ShippingError' } },
    ]);
    assert.equal(spans[0]!.resource['service.name'], 'pricing-job', 'the name the program gave');
    const job = byName(spans, 'pricing-job')[0]!;
    assert.equal(job.parentSpanId, '', 'no TRACEPARENT: a new trace');
  } finally {
    await collector.close();
  }
});

test('OTEL_EXPORTER_OTLP_PROTOCOL=http/json posts OTLP/JSON; an IPv6 literal endpoint works', async () => {
  const collector = await startCollector();
  try {
    const r = await runWasi({
      wasm: SOCKETS,
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.origin, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', ORDERS: '2' },
    });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(collector.requests[0]?.headers['content-type'], 'application/json');
    assert.equal(collector.spans().length, expectedSpans(2));
  } finally {
    await collector.close();
  }
  const { createServer: httpServer } = await import('node:http');
  const bodies: Buffer[] = [];
  const v6 = httpServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => { bodies.push(Buffer.concat(parts)); res.end(); });
  });
  const listening = await new Promise<boolean>((resolve) => {
    v6.once('error', () => resolve(false));
    v6.listen(0, '::1', () => resolve(true));
  });
  if (!listening) return; // no IPv6 loopback on this machine: nothing to show
  try {
    const port = (v6.address() as { port: number }).port;
    const r = await runWasi({ wasm: SOCKETS, env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://[::1]:${port}`, ORDERS: '1' } });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(bodies.length, 1);
    assert.equal(allSpans(decodeProtobuf(bodies[0]!)).length, expectedSpans(1));
  } finally {
    await new Promise<void>((resolve) => v6.close(() => resolve()));
  }
});

test('spans go out in batches while the job runs, none lost or repeated', async () => {
  const collector = await startCollector();
  try {
    const r = await runWasi({ wasm: SOCKETS, env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.origin, ORDERS: '300' } });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.ok(collector.requests.length >= 3, `${collector.requests.length} requests`);
    const spans = collector.spans();
    assert.equal(spans.length, expectedSpans(300));
    assert.equal(new Set(spans.map((s) => s.spanId)).size, spans.length);
  } finally {
    await collector.close();
  }
});

test('a clock that starts failing mid-run (clock_time_get errors from its k-th call on): every span still delivered once, nothing on stderr (fails before: time read as far before the origin, every batch lost with an empty reason)', async () => {
  const collector = await startCollector();
  try {
    const r = prng(0xc10c);
    const froms = [3, 4, 5, 8, 20, 60];
    while (froms.length < 10) froms.push(3 + Math.floor(r() * 200));
    for (const from of froms) {
      collector.requests.length = 0;
      const run = await runWasi({
        wasm: SOCKETS, env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.origin, ORDERS: '40' },
        faults: { clock_time_get: { from, errno: 28 } }, timeoutMs: 30_000,
      });
      const label = `clock fails from call ${from}`;
      assert.equal(run.stderr.replace(/.*ExperimentalWarning.*\n?/g, ''), '', label);
      assert.equal(run.exitCode, 0, label);
      const spans = collector.spans();
      assert.equal(spans.length, expectedSpans(40), label);
      assert.equal(new Set(spans.map((s) => s.spanId)).size, spans.length, label);
      for (const s of spans) assert.ok(BigInt(s.endTimeUnixNano) >= BigInt(s.startTimeUnixNano), `${label}: ${s.name} ends before it starts`);
    }
  } finally {
    await collector.close();
  }
});

test('collector down: bounded retries, then a clean exit with the loss on stderr', async () => {
  const port = await closedPort();
  const started = Date.now();
  const r = await runWasi({ wasm: SOCKETS, env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, ORDERS: '2' } });
  const tookMs = Date.now() - started;
  assert.equal(r.exitCode, 1);
  assert.equal(r.socketCalls.CONNECT, 5, 'five tries, then it gives up');
  assert.match(r.stderr, new RegExp(`wasmtrace: ${expectedSpans(2)} spans lost; ${expectedSpans(2)} not exported: ` +
    `the collector at http://127.0.0.1:${port}/v1/traces is unreachable \\(errno 14\\)`));
  assert.ok(tookMs < 20_000, `${tookMs} ms`);
});

test('a collector that accepts and never answers: each try ends at OTEL_EXPORTER_OTLP_TIMEOUT', async () => {
  // Real WasmEdge blocks in sock_recv for ever here unless the socket has SO_RCVTIMEO
  // (checked by hand, docs/wasi.md); the shim blocks the same way.
  const held: import('node:net').Socket[] = [];
  const silent = createServer((s) => { held.push(s); s.on('data', () => {}); });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const port = (silent.address() as { port: number }).port;
  try {
    const started = Date.now();
    const r = await runWasi({
      wasm: SOCKETS, timeoutMs: 30_000,
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_EXPORTER_OTLP_TIMEOUT: '300', ORDERS: '1' },
    });
    const tookMs = Date.now() - started;
    assert.equal(r.exitCode, 1);
    assert.equal(held.length, 5, 'five tries, each cut at the timeout');
    const calls = r.socketCalls;
    assert.equal(calls.SETOPT, calls.CONNECT! + calls.SEND! + calls.RECV!, 'SO_SNDTIMEO or SO_RCVTIMEO before every connect, send and receive');
    assert.match(r.stderr, new RegExp(`wasmtrace: ${expectedSpans(1)} spans lost; ${expectedSpans(1)} not exported: ` +
      `the collector at http://127.0.0.1:${port}/v1/traces did not answer within 300 ms`));
    assert.ok(tookMs < 15_000, `${tookMs} ms`);
  } finally {
    for (const s of held) s.destroy();
    await new Promise<void>((r) => silent.close(() => r()));
  }
});

test('an unknown host: the loss line carries getaddrinfo\'s errno as WasmEdge reports it (84, EAI_NONAME)', async () => {
  const r = await runWasi({ wasm: SOCKETS, env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://no-such-host.invalid:4318', ORDERS: '1' } });
  assert.equal(r.exitCode, 1);
  assert.equal(r.socketCalls.CONNECT ?? 0, 0);
  assert.match(r.stderr, /the collector at http:\/\/no-such-host\.invalid:4318\/v1\/traces is unreachable \(errno 84\)/);
});

test('429/502/503/504 are retried within the bound; other 4xx are not', async () => {
  let calls = 0;
  const busy = await startCollector({ respond: () => (++calls <= 2 ? { status: calls === 1 ? 503 : 429 } : {}) });
  try {
    const r = await runWasi({ wasm: SOCKETS, env: { OTEL_EXPORTER_OTLP_ENDPOINT: busy.origin, ORDERS: '1' } });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(busy.requests.length, 3);
    assert.equal(busy.spans().length, 3 * expectedSpans(1));
  } finally {
    await busy.close();
  }
  const strict = await startCollector({ respond: () => ({ status: 400 }) });
  try {
    const r = await runWasi({ wasm: SOCKETS, env: { OTEL_EXPORTER_OTLP_ENDPOINT: strict.origin, ORDERS: '1' } });
    assert.equal(r.exitCode, 1);
    assert.equal(strict.requests.length, 1);
    assert.match(r.stderr, /not exported: the collector at .* answered HTTP 400/);
  } finally {
    await strict.close();
  }
});

test('without the socket imports the same job writes OTLP/JSON lines that match the protobuf path field by field', async () => {
  const collector = await startCollector();
  try {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: collector.origin, TRACEPARENT: `00-${TRACE_ID}-${PARENT_ID}-01`, ORDERS: '5' };
    const viaHttp = await runWasi({ wasm: SOCKETS, env, deterministic: true });
    assert.equal(viaHttp.exitCode, 0, viaHttp.stderr);
    const imports = WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(LINES))).map((i) => i.name);
    assert.deepEqual(imports.filter((n) => n.startsWith('sock_')), [], 'linked without the socket calls');
    const viaLines = await runWasi({ wasm: LINES, env, sockets: false, deterministic: true });
    assert.equal(viaLines.exitCode, 0, viaLines.stderr);
    const lines = viaLines.stdout.split('\n').filter((l) => l.length);
    assert.equal(lines.length, 1);
    const fromLines = lines.flatMap((l) => allSpans(decodeJson(l)));
    const fromHttp = collector.spans();
    assert.equal(fromLines.length, expectedSpans(5));
    assert.deepEqual(fromLines, fromHttp);
  } finally {
    await collector.close();
  }
});

test('a runtime whose socket calls answer ENOSYS gets JSON lines instead (probing), and never a crash', async () => {
  const r = await runWasi({ wasm: SOCKETS, env: { ORDERS: '1' }, sockets: 'nosys' });
  assert.equal(r.exitCode, 0);
  assert.match(r.stderr, /this runtime has no sockets; writing OTLP\/JSON lines instead/);
  const spans = allSpans(decodeJson(r.stdout.trim()));
  assert.equal(spans.length, expectedSpans(1));
});

test('WASMTRACE_OUTPUT names a file under a preopened directory', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmtrace-out-'));
  try {
    const r = await runWasi({
      wasm: LINES, sockets: false, preopens: { '/out': dir },
      env: { WASMTRACE_OUTPUT: '/out/spans.jsonl', ORDERS: '2' },
    });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, '');
    const text = readFileSync(join(dir, 'spans.jsonl'), 'utf8');
    assert.ok(text.endsWith('\n'));
    assert.equal(allSpans(decodeJson(text.trim())).length, expectedSpans(2));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('WASMTRACE_OUTPUT finds a preopen named as WasmEdge names it (no leading slash: --dir /out:host is "out")', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmtrace-out-'));
  try {
    for (const [guest, output] of [['out', '/out/a.jsonl'], ['/', '/b.jsonl'], ['.', './c.jsonl']] as const) {
      const r = await runWasi({ wasm: LINES, sockets: false, preopens: { [guest]: dir }, env: { WASMTRACE_OUTPUT: output, ORDERS: '1' } });
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(r.stderr, '', `${guest}: ${r.stderr}`);
      const name = output.slice(output.lastIndexOf('/') + 1);
      assert.equal(allSpans(decodeJson(readFileSync(join(dir, name), 'utf8').trim())).length, expectedSpans(1), guest);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('env as the specification reads it: TRACES_PROTOCOL wins over PROTOCOL, enums in any case', async () => {
  const collector = await startCollector();
  try {
    const cases: Array<[Record<string, string>, string]> = [
      [{ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, 'application/x-protobuf'],
      [{ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: ' ', OTEL_EXPORTER_OTLP_PROTOCOL: ' HTTP/JSON ' }, 'application/json'],
      [{ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'Http/Json' }, 'application/json'],
    ];
    for (const [env, type] of cases) {
      const before = collector.requests.length;
      const r = await runWasi({ wasm: SOCKETS, env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.origin, ORDERS: '1', ...env } });
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(collector.requests[before]?.headers['content-type'], type, JSON.stringify(env));
    }
  } finally {
    await collector.close();
  }
  const off = await runWasi({ wasm: LINES, sockets: false, env: { OTEL_TRACES_SAMPLER: 'Always_Off', ORDERS: '2' } });
  assert.equal(off.exitCode, 0);
  assert.equal(off.stdout, '');
});

test("tracer.baggage(): the caller's BAGGAGE to pass on, read as the JS SDK reads it", async () => {
  const r = prng(0xb466);
  const pieces = ['k=v', 'user.id=alice;ttl=30', 'tier=gold%20plus', ' a = 1 ', ';p', '=', ',', '\r\nx-injected: yes', '%E2%82', 'é', '\t'];
  const cases = [' user.id=alice;ttl=30, tier=gold%20plus ', 'a=1\r\nx-injected: yes', 'k=' + 'v'.repeat(9000), '', '\n k=v \n'];
  while (cases.length < 12) cases.push(Array.from({ length: 1 + Math.floor(r() * 6) }, () => pieces[Math.floor(r() * pieces.length)]).join(''));
  for (const value of cases) {
    const run = await runWasi({ wasm: LINES, sockets: false, env: { BAGGAGE: value, ORDERS: '1' } });
    assert.equal(run.exitCode, 0, run.stderr);
    const job = byName(allSpans(decodeJson(run.stdout.trim())), 'pricing-job')[0]!;
    const got = job.attributes.find((a) => a.key === 'job.baggage')?.value;
    // The Node entry reads the same variable through envValue (trimmed) and parseBaggage.
    const want = parseBaggage(envValue({ BAGGAGE: value }, 'BAGGAGE'));
    assert.deepEqual(got, want ? { stringValue: want } : undefined, JSON.stringify(value));
  }
});

test('sampling: OTEL_TRACES_SAMPLER_ARG=0 and an unsampled TRACEPARENT record nothing', async () => {
  const off = await runWasi({ wasm: LINES, sockets: false, env: { OTEL_TRACES_SAMPLER_ARG: '0', ORDERS: '2' } });
  assert.equal(off.exitCode, 0);
  assert.equal(off.stdout, '');
  const parent = await runWasi({
    wasm: LINES, sockets: false, env: { TRACEPARENT: `00-${TRACE_ID}-${PARENT_ID}-00`, ORDERS: '2' },
  });
  assert.equal(parent.exitCode, 0);
  assert.equal(parent.stdout, '');
  const bad = await runWasi({ wasm: LINES, sockets: false, env: { TRACEPARENT: 'garbage', ORDERS: '1' } });
  assert.match(bad.stderr, /ignoring a malformed TRACEPARENT/);
  assert.equal(allSpans(decodeJson(bad.stdout.trim())).length, expectedSpans(1));
});

test('WASMTRACE_OUTPUT: a path of up to 1024 bytes is opened as given; a longer one falls back to stdout with the warning', async () => {
  const r = prng(0x0a7);
  const dir = mkdtempSync(join(tmpdir(), 'wasmtrace-out-'));
  try {
    for (const length of [310, 300 + Math.floor(r() * 400), 1024, 1025, 1025 + Math.floor(r() * 300)]) {
      // Directories of 1-120 characters (at most 240 bytes), then a file name, to `length` bytes in all.
      const parts: string[] = [];
      let used = '/out'.length;
      while (length - used > 1 + 240 + 1 + 12) {
        const n = 1 + Math.floor(r() * 120);
        parts.push(Array.from({ length: n }, () => 'abcdéf'[Math.floor(r() * 6)]).join('').slice(0, n));
        used += 1 + Buffer.byteLength(parts.at(-1)!);
      }
      parts.push('s'.repeat(length - used - 1 - '.jsonl'.length) + '.jsonl');
      const path = '/out/' + parts.join('/');
      assert.equal(Buffer.byteLength(path), length);
      mkdirSync(join(dir, ...parts.slice(0, -1)), { recursive: true });
      const run = await runWasi({ wasm: LINES, sockets: false, preopens: { '/out': dir }, env: { WASMTRACE_OUTPUT: path, ORDERS: '1' } });
      const target = join(dir, ...parts);
      assert.equal(run.exitCode, 0, run.stderr);
      if (length <= 1024) {
        assert.equal(run.stderr, '', `${length} bytes`);
        assert.equal(allSpans(decodeJson(readFileSync(target, 'utf8').trim())).length, expectedSpans(1), `${length} bytes`);
      } else {
        assert.match(run.stderr, /^wasmtrace: cannot open \/out\/[a-zé]/, `${length} bytes`); // the line is cut at 1 KB
        assert.equal(existsSync(target), false, `${length} bytes`);
        assert.equal(allSpans(decodeJson(run.stdout.trim())).length, expectedSpans(1), `${length} bytes`);
      }
      rmSync(join(dir, parts[0]!), { recursive: true, force: true });
      assert.deepEqual(readdirSync(dir), [], `${length} bytes: nothing written elsewhere`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

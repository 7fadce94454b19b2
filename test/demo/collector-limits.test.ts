// The demo collector as a server under hostile input: compressed bodies that inflate to
// millions of tiny objects (decompression amplification), in a child process with a
// capped heap, so that running out of memory fails the test instead of ending it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { makeTraceRequest, prng, toProtobuf } from '../../demo/collector/synthetic.mjs';

const collectorUrl = new URL('../../demo/collector/index.mjs', import.meta.url).href;
const MiB = 1024 * 1024;

/** Starts the collector (with `options`) in a child Node with `--max-old-space-size=heapMb`. */
async function startChild(heapMb: number, options: object = {}): Promise<{ child: ChildProcess; tracesUrl: string; stderr: () => string }> {
  const code = `const { startCollector } = await import(${JSON.stringify(collectorUrl)});
    const c = await startCollector({ port: 0, ...${JSON.stringify(options)} });
    console.log(JSON.stringify({ tracesUrl: c.tracesUrl }));`;
  const child = spawn(process.execPath, [`--max-old-space-size=${heapMb}`, '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => { err += d; });
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (d) => resolve(String(d)));
    child.once('exit', (c) => reject(new Error(`collector exited (${c}): ${err}`)));
  });
  return { child, tracesUrl: JSON.parse(line).tracesUrl, stderr: () => err };
}

/** After the abuse, the collector still takes a real export (protobuf or OTLP/JSON) and serves its trace: it is up and answering. */
async function stillServes(tracesUrl: string, child: ChildProcess, spanCount: number, seed: number, json: boolean): Promise<void> {
  const { traceId, request } = makeTraceRequest({ spanCount, seed });
  const body = json ? JSON.stringify(request) : new Uint8Array(toProtobuf(request));
  const r = await fetch(tracesUrl, { method: 'POST', headers: { 'content-type': json ? 'application/json' : 'application/x-protobuf' }, body });
  assert.equal(r.status, 200);
  const t = await fetch(tracesUrl.replace('/v1/traces', `/api/traces/${traceId}`));
  assert.equal(((await t.json()) as any).spanCount, spanCount);
  assert.equal(child.exitCode, null, 'collector still running');
}

function varint(n: number): Buffer {
  const out: number[] = [];
  for (; n > 0x7f; n = Math.floor(n / 128)) out.push((n & 0x7f) | 0x80);
  out.push(n);
  return Buffer.from(out);
}
/** A length-delimited protobuf field. */
const field = (num: number, body: Buffer) => Buffer.concat([varint(num * 8 + 2), varint(body.length), body]);
/** request → ResourceSpans → ScopeSpans → `spans` (already encoded as field 2 of ScopeSpans). */
const inScope = (spans: Buffer) => field(1, field(2, spans));
/** One valid span around `inner` (its encoded attributes/events/links fields). */
const oneSpan = (inner: Buffer) => field(2, Buffer.concat([field(1, Buffer.alloc(16, 1)), field(2, Buffer.alloc(8, 2)), inner]));

/** Bodies of about `bytes` decoded bytes made of the cheapest objects each encoding allows. */
const BOMBS: Record<string, (bytes: number) => { type: string; body: Buffer }> = {
  'protobuf: empty spans': (n) => ({ type: 'application/x-protobuf', body: inScope(Buffer.alloc(n - 16).fill(Buffer.from([0x12, 0]))) }),
  'protobuf: empty attributes': (n) => ({ type: 'application/x-protobuf', body: inScope(oneSpan(Buffer.alloc(n - 64).fill(Buffer.from([0x4a, 0])))) }),
  'protobuf: empty events': (n) => ({ type: 'application/x-protobuf', body: inScope(oneSpan(Buffer.alloc(n - 64).fill(Buffer.from([0x5a, 0])))) }),
  'protobuf: empty links': (n) => ({ type: 'application/x-protobuf', body: inScope(oneSpan(Buffer.alloc(n - 64).fill(Buffer.from([0x6a, 0])))) }),
  'JSON: empty spans': (n) => ({ type: 'application/json', body: Buffer.from(`{"resourceSpans":[{"scopeSpans":[{"spans":[${'{},'.repeat(n / 3 - 20)}{}]}]}]}`) }),
  'JSON: empty attributes': (n) => ({
    type: 'application/json',
    body: Buffer.from(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${'a'.repeat(32)}","spanId":"${'b'.repeat(16)}","attributes":[${'{},'.repeat(n / 3 - 40)}{}]}]}]}]}`),
  }),
};

test('decompression bombs, 8 at once, against a 192 MiB heap: each answered 413, the collector stays up and accepts real exports', async () => {
  const { child, tracesUrl, stderr } = await startChild(192);
  try {
    const rand = prng(2024);
    const names = Object.keys(BOMBS);
    for (let round = 0; round < 3; round++) {
      const bombs = Array.from({ length: 8 }, () => {
        const name = names[Math.floor(rand() * names.length)]!;
        // From 2 MiB up to just under the default decoded limit (16 MiB).
        const size = Math.floor((2 + rand() * 13.9) * MiB);
        const { type, body } = BOMBS[name]!(size);
        return { name, size, type, gz: gzipSync(body, { level: 9 }) };
      });
      const answers = await Promise.all(bombs.map((b) => fetch(tracesUrl, {
        method: 'POST', headers: { 'content-type': b.type, 'content-encoding': 'gzip' }, body: new Uint8Array(b.gz), signal: AbortSignal.timeout(60_000),
      }).then(async (r) => ({ status: r.status, text: await r.text() }), (e) => ({ status: 0, text: String(e.cause ?? e) }))));
      answers.forEach((a, i) => {
        const b = bombs[i]!;
        assert.equal(a.status, 413, `round ${round}: ${b.name}, ${b.gz.length} B gzip → ${(b.size / MiB).toFixed(1)} MiB: ${a.text.slice(0, 200)} ${stderr().slice(-300)}`);
        assert.match(a.text, /more than|exceeds/);
      });
    }
    await stillServes(tracesUrl, child, 30, 8, false);
  } finally {
    child.kill('SIGKILL');
  }
});

test('OTLP/JSON arrays of scalars where objects belong (events, links: 2 bytes each, each decoded into an object), 8 at once against a 192 MiB heap: 413, the collector stays up (fails before: not counted, the collector ran out of memory)', async () => {
  const { child, tracesUrl, stderr } = await startChild(192);
  try {
    const rand = prng(2025);
    const scalars = ['1', '0', '""', 'null', 'true', '-1e9'];
    for (let round = 0; round < 2; round++) {
      const bodies = Array.from({ length: 8 }, () => {
        const field = rand() < 0.5 ? 'events' : 'links';
        const scalar = scalars[Math.floor(rand() * scalars.length)]!;
        const count = Math.floor((1 + rand() * 6.9) * MiB / (scalar.length + 1)); // up to just under 16 MiB decoded
        const spanId = Math.floor(rand() * 0xffffff).toString(16).padStart(16, '1');
        const body = `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${'ab'.repeat(16)}","spanId":"${spanId}",` +
          `"${field}":[${`${scalar},`.repeat(count - 1)}${scalar}]}]}]}]}`;
        return { label: `${field} of ${count} × ${scalar}`, gz: gzipSync(body, { level: 9 }) };
      });
      const answers = await Promise.all(bodies.map((b) => fetch(tracesUrl, {
        method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: new Uint8Array(b.gz), signal: AbortSignal.timeout(60_000),
      }).then(async (r) => ({ status: r.status, text: await r.text() }), (e) => ({ status: 0, text: String(e.cause ?? e) }))));
      answers.forEach((a, i) => {
        assert.equal(a.status, 413, `round ${round}: ${bodies[i]!.label}: ${a.text.slice(0, 200)} ${stderr().slice(-300)}`);
        assert.match(a.text, /more than 200000 objects/);
      });
    }
    // Under the limit such a body is decoded as before: scalars where events belong read as empty events.
    const small = `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${'cd'.repeat(16)}","spanId":"${'12'.repeat(8)}","events":[1,2,3]}]}]}]}`;
    assert.equal((await fetch(tracesUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: small })).status, 200);
    await stillServes(tracesUrl, child, 30, 9, true);
  } finally {
    child.kill('SIGKILL');
  }
});

test('maxSpansPerRequest / maxItemsPerRequest: 200 generated requests, at most the limit accepted, one more refused whole with 413', async () => {
  const { startCollector } = await import('../../demo/collector/index.mjs');
  const c = await startCollector({ port: 0, maxSpansPerRequest: 50, maxItemsPerRequest: 2000 });
  try {
    const rand = prng(51);
    for (let i = 0; i < 200; i++) {
      const spanCount = 1 + Math.floor(rand() * 100);
      const attributesPerSpan = Math.floor(rand() * 30);
      const { traceId, request } = makeTraceRequest({ spanCount, seed: 7000 + i, attributesPerSpan });
      const pb = i % 2 === 0;
      const body = pb ? new Uint8Array(toProtobuf(request)) : JSON.stringify(request);
      const r = await fetch(c.tracesUrl, { method: 'POST', headers: { 'content-type': pb ? 'application/x-protobuf' : 'application/json' }, body });
      const text = pb ? '' : await r.text();
      // Each span brings at least its attributes and their values: over 2,000 objects above ~66 per span.
      const tooManyItems = spanCount * attributesPerSpan * 2 > 2000;
      if (spanCount > 50) assert.equal(r.status, 413, `case ${i}: ${spanCount} spans`);
      else if (tooManyItems) assert.equal(r.status, 413, `case ${i}: ${spanCount} × ${attributesPerSpan} attributes`);
      else if (spanCount * (attributesPerSpan * 2 + 8) < 1500) assert.equal(r.status, 200, `case ${i}: ${spanCount} × ${attributesPerSpan} ${text}`);
      if (r.status === 413) {
        if (!pb) assert.match(text, /maxSpansPerRequest|maxItemsPerRequest/);
        assert.equal(c.store.summary(traceId), null, 'nothing of a refused request is kept');
      } else assert.equal(r.status, 200);
    }
  } finally {
    await c.close();
  }
});

test('slow senders: a body not complete within bodyTimeoutMs gets 408 and frees its slot; real exports get through (3 generated rounds)', async () => {
  const { startCollector } = await import('../../demo/collector/index.mjs');
  const net = await import('node:net');
  const c = await startCollector({ port: 0, maxConcurrentExports: 8, bodyTimeoutMs: 1000 });
  const rand = prng(408);
  const real = JSON.stringify(makeTraceRequest({ spanCount: 2, seed: 9 }).request);
  const cleanups: (() => void)[] = [];
  try {
    for (let round = 0; round < 3; round++) {
      // 8-12 slow senders, each trickling a byte every 50-400 ms after a partial body.
      const senders = Array.from({ length: 8 + Math.floor(rand() * 5) }, () => {
        const s = net.connect(c.port, '127.0.0.1');
        let answer = '';
        s.on('data', (d) => { answer += d; });
        s.on('error', () => {});
        s.write(`POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"resourceSpans":`);
        const drip = setInterval(() => { if (!s.destroyed) s.write(' '); }, 50 + Math.floor(rand() * 350));
        cleanups.push(() => { clearInterval(drip); s.destroy(); });
        return { s, drip, answer: () => answer };
      });
      await new Promise((r) => setTimeout(r, 200));
      const t0 = Date.now();
      let status = 0;
      // While the slow senders still trickle, a real export must get through once their time is up.
      while (Date.now() - t0 < 4000) {
        const r = await fetch(c.tracesUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: real });
        status = r.status;
        await r.arrayBuffer();
        if (status === 200) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      assert.equal(status, 200, `round ${round}: real export with ${senders.length} slow senders`);
      await new Promise((r) => setTimeout(r, 300));
      for (const x of senders) {
        clearInterval(x.drip);
        // The first 8 held slots (408); the rest were refused at once (503).
        assert.match(x.answer(), /^HTTP\/1\.1 (408|503)/, `round ${round}: ${x.answer().slice(0, 40)}`);
        x.s.destroy();
      }
      assert.equal(senders.filter((x) => x.answer().startsWith('HTTP/1.1 408')).length, 8, `round ${round}`);
    }
  } finally {
    for (const f of cleanups) f();
    await c.close();
  }
});

/** A varint of `n` in exactly `size` bytes (zero padding, so the value is the same), with `high` or'ed into the last byte. */
function paddedVarint(n: number, size: number, high = 0): Buffer {
  const out = Buffer.alloc(size, 0x80);
  for (let i = 0; i < size; i++, n = Math.floor(n / 128)) out[i] = (n & 0x7f) | (i < size - 1 ? 0x80 : 0);
  out[size - 1]! |= high;
  return out;
}

test('protobuf the decoder reads otherwise than a plain walk (overlong tags and lengths, groups, long varints, wrong wire types): counted as the decoder reads it, 413, the collector stays up', async () => {
  const { child, tracesUrl, stderr } = await startChild(192);
  try {
    const spans = Buffer.alloc(2 * 3_000_000).fill(Buffer.from([0x12, 0])); // 3 million empty spans
    const rs = field(2, spans); // a ResourceSpans holding one ScopeSpans with them
    const bodies: Record<string, Buffer> = {
      // protobufjs reads tags and lengths as 32-bit: bit 32 (the 5th byte's 0x10) is dropped
      'resourceSpans tag with bit 32 set': Buffer.concat([paddedVarint(1 * 8 + 2, 5, 0x10), varint(rs.length), rs]),
      'length with bit 32 set': Buffer.concat([varint(1 * 8 + 2), paddedVarint(rs.length, 5, 0x10), rs]),
      // a 10-byte varint: protobufjs reads 5 and skips 5 more unread
      '10-byte length': Buffer.concat([varint(1 * 8 + 2), paddedVarint(rs.length, 5, 0x80), Buffer.from([0, 0, 0, 0, 0]), rs]),
      'an unknown group first': Buffer.concat([varint(99 * 8 + 3), varint(7 * 8 + 0), varint(5), varint(99 * 8 + 4), field(1, rs)]),
      'an unknown 12-byte varint first': Buffer.concat([varint(99 * 8), Buffer.alloc(11, 0x80), Buffer.from([0]), field(1, rs)]),
      'resourceSpans with wire type 0': Buffer.concat([varint(1 * 8 + 0), varint(rs.length), rs]),
      'resourceSpans with wire type 5': Buffer.concat([varint(1 * 8 + 5), varint(rs.length), rs]),
    };
    for (const [name, body] of Object.entries(bodies)) {
      const gz = gzipSync(body);
      const a = await fetch(tracesUrl, {
        method: 'POST', headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' }, body: new Uint8Array(gz), signal: AbortSignal.timeout(60_000),
      }).then(async (r) => ({ status: r.status, text: Buffer.from(await r.arrayBuffer()).toString() }), (e) => ({ status: 0, text: String(e.cause ?? e) }));
      assert.equal(a.status, 413, `${name}: ${gz.length} B gzip → ${(body.length / MiB).toFixed(1)} MiB: ${a.text.slice(0, 200)} ${stderr().slice(-300)}`);
      assert.match(a.text, /maxSpansPerRequest/);
    }
    await stillServes(tracesUrl, child, 3, 12, false);
  } finally {
    child.kill('SIGKILL');
  }
});

test('the count before decoding is never below what the decoder builds: 4,000 generated protobuf bodies with odd encodings (wrong wire types, overlong varints, unknown fields and groups)', async () => {
  const { BadRequest, checkRequestSize, ExportTraceServiceRequest } = await import('../../demo/collector/otlp.mjs');
  const rand = prng(77);
  const ri = (n: number) => Math.floor(rand() * n);
  // The request's messages (index = type, as in otlp.mjs): field → nested type, or 'L' bytes/string, 'V'/'W' varint, 'F' fixed64, 'X' fixed32.
  const FIELDS: Record<number, number | string>[] = [
    { 1: 1 }, { 1: 2, 2: 3, 3: 'L' }, { 1: 8, 2: 'V' }, { 1: 4, 2: 5, 3: 'L' }, { 1: 'L', 2: 'L', 3: 8, 4: 'V' },
    { 1: 'L', 2: 'L', 3: 'L', 4: 'L', 5: 'L', 6: 'V', 7: 'F', 8: 'F', 9: 8, 10: 'V', 11: 6, 12: 'V', 13: 7, 14: 'V', 15: 12, 16: 'X' },
    { 1: 'F', 2: 'L', 3: 8, 4: 'V' }, { 1: 'L', 2: 'L', 3: 'L', 4: 8, 5: 'V', 6: 'X' }, { 1: 'L', 2: 9 },
    { 1: 'L', 2: 'V', 3: 'W', 4: 'F', 5: 10, 6: 11, 7: 'L' }, { 1: 9 }, { 1: 8 }, { 2: 'L', 3: 'V' },
  ];
  const vi = (n: number, size = 0, high = 0) => [...(size ? paddedVarint(n, size, high) : varint(n))];
  const tag = (f: number, w: number) => (rand() < 0.1 ? vi(f * 8 + w, 5, [0, 0x10, 0x20, 0x40][ri(4)]) : vi(f * 8 + w));
  const len = (n: number) => {
    const r = rand();
    if (r < 0.05) return vi(n, 5, 0x10); // bit 32 set
    if (r < 0.08) return [...vi(n, 5, 0x80), 0, 0, 0, 0, 0]; // 10 bytes
    if (r < 0.1) return vi(Math.max(0, n + ri(3) - 1)); // off by one
    return vi(n);
  };
  const message = (type: number, depth: number): number[] => {
    const out: number[] = [];
    for (let i = ri(depth > 6 ? 2 : 5); i > 0; i--) {
      if (rand() < 0.1) { // an unknown field, any wire type
        const w = [0, 1, 2, 3, 5, 4][ri(6)]!;
        out.push(...tag(50 + ri(10), w));
        if (w === 0) out.push(...Array(ri(14)).fill(0x80), 1);
        else if (w === 1 || w === 5) out.push(...Array(w === 1 ? 8 : 4).fill(7));
        else if (w === 2) {
          const b = rand() < 0.5 ? message(ri(13), depth + 1) : [1, 2];
          out.push(...len(b.length), ...b);
        } else if (w === 3) out.push(...tag(60, 0), 5, ...(rand() < 0.5 ? [...tag(60, 2), 0] : []), ...tag(50, 4));
        continue;
      }
      const keys = Object.keys(FIELDS[type]!).map(Number);
      const f = keys[ri(keys.length)]!;
      const kind = FIELDS[type]![f]!;
      const wrong = rand() < 0.08;
      if (typeof kind === 'number') {
        const b = message(kind, depth + 1);
        out.push(...tag(f, wrong ? [0, 1, 5, 3][ri(4)]! : 2), ...len(b.length), ...b);
      } else if (kind === 'L') out.push(...tag(f, wrong ? 0 : 2), ...len(2), 0x12, 0);
      else if (kind === 'V' || kind === 'W') out.push(...tag(f, wrong ? 2 : 0), ...vi(ri(300), rand() < 0.1 ? 10 : 0));
      else if (kind === 'F') out.push(...tag(f, wrong ? 2 : 1), ...Array(8).fill(1));
      else out.push(...tag(f, 5), 1, 2, 3, 4);
    }
    return out;
  };
  /** Spans and message objects in a decoded request. */
  const built = (m: any) => {
    let spans = 0;
    let items = 0;
    const walk = (o: any, isSpan: boolean) => {
      if (o === null || typeof o !== 'object' || ArrayBuffer.isView(o) || typeof o.low === 'number') return;
      if (Array.isArray(o)) return o.forEach((x) => walk(x, isSpan));
      items++;
      if (isSpan) spans++;
      for (const [k, v] of Object.entries(o)) walk(v, k === 'spans');
    };
    for (const v of Object.values(m)) walk(v, false);
    return { spans, items };
  };
  const answer = (body: Uint8Array, maxSpans: number, maxItems: number) => {
    try {
      checkRequestSize('protobuf', body, { maxSpans, maxItems });
      return 'ok';
    } catch (e) {
      return e instanceof BadRequest ? e.status : `threw ${e}`;
    }
  };
  let decodable = 0;
  for (let i = 0; i < 4000; i++) {
    const body = Uint8Array.from(message(0, 0));
    let m;
    try {
      m = ExportTraceServiceRequest.decode(body);
    } catch {
      continue; // the decoder refuses it: 400 whatever the count says
    }
    decodable++;
    const { spans, items } = built(m);
    const hex = Buffer.from(body).toString('hex').slice(0, 400);
    assert.equal(answer(body, 1e9, 1e9), 'ok', `case ${i}: decodable, within any limit: ${hex}`);
    if (spans > 0) assert.equal(answer(body, spans - 1, 1e9), 413, `case ${i}: ${spans} spans built, limit ${spans - 1}: ${hex}`);
    if (items > 0) assert.equal(answer(body, 1e9, items - 1), 413, `case ${i}: ${items} objects built, limit ${items - 1}: ${hex}`);
  }
  assert.ok(decodable > 2000, `${decodable} of 4000 decodable`);
});

test('the store is bounded in bytes, not only in spans: 120 traces of one span with 60,000 distinct attributes each against a 256 MiB heap, maxBytes 48 MiB', async () => {
  const { child, tracesUrl, stderr } = await startChild(256, { maxBytes: 48 * MiB });
  try {
    const attrs = Array.from({ length: 60_000 }, (_, i) => `{"key":"k${i}","value":{"intValue":"${i}"}}`).join(',');
    const body = (traceId: string, spanId: string) =>
      `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${traceId}","spanId":"${spanId}","startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[${attrs}]}]}]}]}`;
    for (let t = 1; t <= 120; t++) {
      const r = await fetch(tracesUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(t.toString(16).padStart(32, '0'), 'b'.repeat(16)), signal: AbortSignal.timeout(60_000) })
        .then(async (x) => ({ status: x.status, text: await x.text() }), (e) => ({ status: 0, text: String(e.cause ?? e) }));
      assert.equal(r.status, 200, `trace ${t}: ${r.text.slice(0, 200)} ${stderr().slice(-300)}`);
      assert.equal(r.text, '{}', `trace ${t}`);
    }
    const stats = (await (await fetch(tracesUrl.replace('/v1/traces', '/api/stats'))).json()) as any;
    assert.ok(stats.store.bytes <= 48 * MiB, JSON.stringify(stats.store));
    assert.ok(stats.store.evictedTraces > 60, JSON.stringify(stats.store));
    // One trace may not outgrow the store: its spans past maxBytes are refused through partialSuccess.
    const big = 'f'.repeat(32);
    let refused = 0;
    for (let s = 1; s <= 20 && refused === 0; s++) {
      const r = await fetch(tracesUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(big, s.toString(16).padStart(16, '0')) });
      const answer = (await r.json()) as any;
      assert.equal(r.status, 200);
      if (answer.partialSuccess) {
        assert.equal(answer.partialSuccess.rejectedSpans, '1');
        assert.match(answer.partialSuccess.errorMessage, /maxBytes/);
        refused = s;
      }
    }
    assert.ok(refused > 1, `a span of the big trace refused (at span ${refused})`);
    const after = (await (await fetch(tracesUrl.replace('/v1/traces', '/api/stats'))).json()) as any;
    assert.ok(after.store.bytes <= 48 * MiB, JSON.stringify(after.store));
    assert.equal(child.exitCode, null, 'collector still running');
  } finally {
    child.kill('SIGKILL');
  }
});

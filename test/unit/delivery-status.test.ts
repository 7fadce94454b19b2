// A collector (or a gateway before it) answering 200 with a google.rpc.Status
// body instead of an ExportTraceServiceResponse: its field 1 is `code`, a
// varint, where the response's field 1 is the partial_success message. The
// code was read as a count of rejected spans: spans the collector accepted
// were counted in droppedRejected and reported as a partial-success drop.
// Generated codes and messages, protobuf and JSON; a real node:http collector.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCollector } from '../helpers/collector.js';
import { prng } from '../../demo/collector/synthetic.mjs';
import { endSpans, received, tracerFor } from './delivery-harness.js';

const CASES = 24;

/** google.rpc.Status: code (1, varint), message (2, string), details (3, Any: type_url 1). */
function statusBody(code: number, message: string, detail: string | null): Uint8Array {
  const out: number[] = [];
  const varint = (v: number): void => {
    for (; v >= 0x80; v >>>= 7) out.push((v & 0x7f) | 0x80);
    out.push(v);
  };
  const bytes = (tag: number, b: Uint8Array | number[]): void => {
    out.push(tag);
    varint(b.length);
    out.push(...b);
  };
  out.push(0x08);
  varint(code);
  bytes(0x12, new TextEncoder().encode(message));
  if (detail !== null) bytes(0x1a, [0x0a, detail.length, ...new TextEncoder().encode(detail)]);
  return new Uint8Array(out);
}

test(`200 with a google.rpc.Status body: every span counted sent, none dropped (${CASES} generated)`, async (t) => {
  const r = prng(1414);
  let reply: () => string | Uint8Array = () => '';
  const c = await startCollector({ respond: () => ({ body: reply() }) });
  t.after(() => c.close());
  for (let i = 0; i < CASES; i++) {
    const json = i % 3 === 2;
    const code = 1 + Math.floor(r() * 16);
    const message = 'm'.repeat(Math.floor(r() * 40));
    const detail = r() < 0.5 ? 'type.googleapis.com/google.rpc.ErrorInfo' : null;
    reply = () => (json ? JSON.stringify({ code, message, details: [] }) : statusBody(code, message, detail));
    const tracer = await tracerFor(c.url, json ? { protocol: 'http/json' } : {});
    const n = 1 + Math.floor(r() * 20);
    endSpans(tracer, n, `st${i}`);
    assert.deepEqual(await tracer.flush(), { sent: n, queued: 0, dropped: 0 }, `case ${i}: code ${code}, ${json ? 'json' : 'protobuf'}`);
    assert.deepEqual(tracer.stats().droppedRejected, 0, `case ${i}`);
    await tracer.shutdown();
    assert.equal(received(c).user.filter((s) => s.name.startsWith(`st${i}-`)).length, n, `case ${i}: all arrived`);
  }
  assert.deepEqual(received(c).dropped, [], 'no drop reported');
});

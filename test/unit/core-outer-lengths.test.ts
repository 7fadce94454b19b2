// The request's two outer lengths (ResourceSpans, ScopeSpans) are written
// last, after the spans, and the short head (tags, resource) is moved to meet
// them (src/core.ts reads the request from out(), which may lie past OUT).
// Whatever the sizes of the resource and the spans, the lengths must be
// minimal varints, exact, and every span must arrive once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coreTracer, protoWasm } from '../helpers/core-tracer.js';
import { allSpans, attrs, decodeProtobuf } from '../helpers/otlp.js';
import { setAttr } from '../../src/attributes.js';
import { createCore } from '../../src/core.js';
import { createTracer } from '../../src/tracer.js';
import { instantiate } from '../../src/wasm.js';
import { timeOrigin } from '../../src/clock.js';

function random(seed: number): (n: number) => number {
  return (n) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
}

/** Reads a varint at `at`; fails unless it is minimal. Returns [value, bytes]. */
function minimalVarint(b: Uint8Array, at: number, where: string): [number, number] {
  let v = 0;
  let n = 0;
  for (let mul = 1; ; mul *= 128) {
    const c = b[at + n++]!;
    v += (c & 0x7f) * mul;
    if (!(c & 0x80)) break;
  }
  assert.ok(n === 1 || b[at + n - 1] !== 0, `${where}: a padded varint`);
  return [v, n];
}

/** A tracer over the module with no resource at all: requests small enough for one-byte lengths. */
async function bare(): Promise<Awaited<ReturnType<typeof coreTracer>>> {
  const x = await instantiate(protoWasm);
  const core = createCore(x, 'application/x-protobuf', 4096);
  x.seed();
  x.configure(timeOrigin(), 1, 128, 128, 128, 128);
  const none = async () => ({ sent: 0, queued: 0, dropped: 0 });
  const tracer = createTracer(core, { spanEnded: () => {}, flush: none, shutdown: none });
  const drain = (maxBytes = 128 * 1024): Uint8Array[] => {
    const bodies: Uint8Array[] = [];
    for (let b = core.source.drain(maxBytes); b; b = core.source.drain(maxBytes)) bodies.push(b.body);
    return bodies;
  };
  return { tracer, core, drain, ended: () => 0 };
}

test('outer lengths are exact minimal varints for any resource and body size (seeded)', async () => {
  const rnd = random(7);
  for (let round = 0; round < 40; round++) {
    // A resource from none at all to past 16 KiB: its length varint takes
    // 1 to 3 bytes, and so does the whole request's.
    const t = round % 4 === 0 ? await bare() : await coreTracer({ seed: round + 1 });
    const resource: Record<string, string> = {};
    for (let i = round % 8 === 0 ? 0 : rnd(6); i > 0; i--) resource[`r${i}`] = 'x'.repeat(rnd(4000));
    if (round % 5 === 0) resource.tiny = 'y';
    for (const [k, v] of Object.entries(resource)) setAttr(t.core, 0, k, v, 0);
    const count = 1 + rnd(round % 2 === 0 ? 3 : 700);
    const maxBytes = [200, 1000, 8192, 60 * 1024, 128 * 1024][rnd(5)]!;
    for (let i = 0; i < count; i++) t.tracer.startSpan(`s${i}`, { attributes: { i, pad: 'p'.repeat(rnd(round % 2 === 0 ? 20 : 120)) } }).end();
    const seen: number[] = [];
    for (const body of t.drain(maxBytes)) {
      const where = `round ${round}: ${count} spans, ${maxBytes} B, body of ${body.length} B`;
      assert.equal(body[0], 0x0a, `${where}: resource_spans tag`);
      const [outer, n1] = minimalVarint(body, 1, where);
      assert.equal(1 + n1 + outer, body.length, `${where}: resource_spans length`);
      let p = 1 + n1;
      assert.equal(body[p], 0x0a, `${where}: resource tag`);
      const [res, n2] = minimalVarint(body, p + 1, where);
      p += 1 + n2 + res;
      assert.equal(body[p], 0x12, `${where}: scope_spans tag`);
      const [inner, n3] = minimalVarint(body, p + 1, where);
      assert.equal(p + 1 + n3 + inner, body.length, `${where}: scope_spans length`);
      const req = decodeProtobuf(body); // the strict wire walk, then protobufjs
      const got = attrs(req.resourceSpans[0]!.resource.attributes);
      for (const [k, v] of Object.entries(resource)) assert.equal(got[k], v, `${where}: resource attribute ${k}`);
      for (const s of allSpans(req)) seen.push(Number(attrs(s.attributes).i));
    }
    assert.deepEqual(seen, Array.from({ length: count }, (_, i) => i), `round ${round}: every span once, oldest first`);
  }
});

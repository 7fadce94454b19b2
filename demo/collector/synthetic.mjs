// Deterministic synthetic traces for the collector's tests and benchmark: a tree of
// spans over several services, as an OTLP/JSON request, and the same in protobuf.
import { ExportTraceServiceRequest } from './otlp.mjs';

/** A small seeded PRNG (mulberry32), so that every run sends the same traces. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hex(rand, bytes) {
  let s = '';
  for (let i = 0; i < bytes; i++) s += Math.floor(rand() * 256).toString(16).padStart(2, '0');
  return /^0+$/.test(s) ? '1'.padStart(bytes * 2, '0') : s;
}

const SERVICES = ['shop-web', 'shop-edge', 'inventory-job', 'payments'];
const NAMES = ['GET /api/cart', 'render', 'fetch', 'db.query', 'compute', 'resolve', 'cache.get', 'serialize'];

/**
 * @param {object} [o]
 * @param {number} [o.spanCount] default 50
 * @param {number} [o.seed]
 * @param {string[]} [o.services]
 * @param {number} [o.startMs] Unix epoch milliseconds of the root's start
 * @param {number} [o.durationMs] of the root span
 * @param {number} [o.attributesPerSpan]
 * @returns {{ traceId: string, request: any, spanCount: number }} request in OTLP/JSON
 */
export function makeTraceRequest(o = {}) {
  const rand = prng(o.seed ?? 1);
  const n = Math.max(1, o.spanCount ?? 50);
  const services = o.services ?? SERVICES;
  const traceId = hex(rand, 16);
  const t0 = BigInt(Math.round((o.startMs ?? Date.now() - 60_000) * 1000)) * 1000n;
  const rootDur = (o.durationMs ?? 1200) * 1e6;
  const attrs = o.attributesPerSpan ?? 4;
  const spans = [];
  const bySvc = new Map(services.map((s) => [s, []]));
  for (let i = 0; i < n; i++) {
    let parent = null;
    let svc = services[0];
    let start = 0;
    let dur = rootDur;
    let depth = 0;
    if (i > 0) {
      // Recent spans are likelier parents, and the tree stops at depth 9: a
      // realistic mix of breadth and depth.
      do {
        const j = rand() < 0.7 ? Math.max(0, i - 1 - Math.floor(rand() * 40)) : Math.floor(rand() * i);
        parent = spans[j];
      } while (parent.depth >= 9);
      depth = parent.depth + 1;
      svc = rand() < 0.15 ? services[Math.floor(rand() * services.length)] : parent.svc;
      dur = Math.max(1000, Math.floor(parent.dur * (0.05 + rand() * 0.6)));
      start = parent.start + Math.floor(rand() * Math.max(1, parent.dur - dur));
    }
    const error = rand() < 0.01;
    const s = {
      svc,
      depth,
      start,
      dur,
      json: {
        traceId,
        spanId: hex(rand, 8),
        parentSpanId: parent ? parent.json.spanId : '',
        name: i === 0 ? 'documentLoad' : NAMES[Math.floor(rand() * NAMES.length)],
        kind: parent && parent.svc !== svc ? 2 : i === 0 ? 1 : 1 + Math.floor(rand() * 3),
        startTimeUnixNano: (t0 + BigInt(start)).toString(),
        endTimeUnixNano: (t0 + BigInt(start + dur)).toString(),
        attributes: Array.from({ length: attrs }, (_, k) =>
          k % 2 === 0
            ? { key: `attr.s${k}`, value: { stringValue: `value-${Math.floor(rand() * 1000)}` } }
            : { key: `attr.i${k}`, value: { intValue: String(Math.floor(rand() * 1e6)) } }),
        events: rand() < 0.1 ? [{ timeUnixNano: (t0 + BigInt(start)).toString(), name: 'mark', attributes: [] }] : [],
        links: [],
        status: error ? { code: 2, message: 'synthetic failure' } : { code: 0 },
      },
    };
    spans.push(s);
    /** @type {any[]} */ (bySvc.get(svc)).push(s.json);
  }
  const request = {
    resourceSpans: [...bySvc].filter(([, list]) => list.length > 0).map(([svc, list]) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: svc } }] },
      scopeSpans: [{ scope: { name: 'synthetic', version: '1' }, spans: list }],
    })),
  };
  return { traceId, request, spanCount: n };
}

/** Splits a request into requests of at most `size` spans each (as an SDK batches). */
export function splitRequest(request, size) {
  const out = [];
  for (const rs of request.resourceSpans) {
    for (const ss of rs.scopeSpans) {
      for (let i = 0; i < ss.spans.length; i += size) {
        out.push({ resourceSpans: [{ resource: rs.resource, scopeSpans: [{ scope: ss.scope, spans: ss.spans.slice(i, i + size) }] }] });
      }
    }
  }
  return out;
}

/** The OTLP/JSON request encoded as protobuf. */
export function toProtobuf(request) {
  const idBytes = (h) => (h ? Buffer.from(h, 'hex') : undefined);
  const obj = {
    resourceSpans: request.resourceSpans.map((rs) => ({
      ...rs,
      scopeSpans: rs.scopeSpans.map((ss) => ({
        ...ss,
        spans: ss.spans.map((s) => ({
          ...s,
          traceId: idBytes(s.traceId),
          spanId: idBytes(s.spanId),
          parentSpanId: idBytes(s.parentSpanId),
          links: (s.links ?? []).map((l) => ({ ...l, traceId: idBytes(l.traceId), spanId: idBytes(l.spanId) })),
        })),
      })),
    })),
  };
  return ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(obj)).finish();
}

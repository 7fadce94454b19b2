// The bounded in-memory trace store: the most recently updated traces, limited by
// trace count, by total span count and by their approximate size in bytes; the least
// recently updated trace goes first.

/**
 * @typedef {object} TraceSummary
 * @property {string} traceId
 * @property {string} rootService service of the root span (or of the earliest span while the root is missing)
 * @property {string} rootName
 * @property {boolean} rootMissing true while no span without a parent has arrived
 * @property {string[]} services
 * @property {number} spanCount
 * @property {number} errorCount spans with status ERROR
 * @property {number} startMs Unix epoch milliseconds of the earliest span start
 * @property {number} durationMs earliest start to latest end, in milliseconds
 * @property {number} updatedMs Unix epoch milliseconds of the last export that touched the trace
 */

/** What sizeOf counts for each object, member and value besides its strings. */
const SLOT_BYTES = 64;

/**
 * Approximate heap bytes of a value of a span (attributes, events, links, a resource):
 * its strings' lengths, and SLOT_BYTES for each object, array, member and element. A
 * span's size is not its span count: one span can hold 100,000 attributes or a string
 * of megabytes. Recursive: values are at most MAX_VALUE_DEPTH (otlp.mjs) deep.
 * @param {unknown} v
 */
function sizeOf(v) {
  if (typeof v === 'string') return SLOT_BYTES + v.length;
  if (v === null || typeof v !== 'object') return SLOT_BYTES;
  let bytes = SLOT_BYTES;
  for (const k in v) bytes += k.length + sizeOf(v[k]);
  return bytes;
}

/** @param {import('./otlp.mjs').FlatSpan} s the span without its resource and scope (shared by the spans of one request) */
function spanSize(s) {
  return SLOT_BYTES * 16 + s.name.length + s.traceState.length + s.status.message.length +
    sizeOf(s.attributes) + (s.events.length > 0 ? sizeOf(s.events) : 0) + (s.links.length > 0 ? sizeOf(s.links) : 0);
}

/**
 * @param {{ maxTraces?: number, maxSpans?: number, maxSpansPerTrace?: number, maxBytes?: number }} [limits]
 */
export function createTraceStore(limits = {}) {
  const maxTraces = limits.maxTraces ?? 500;
  const maxSpans = limits.maxSpans ?? 100_000;
  const maxSpansPerTrace = Math.min(limits.maxSpansPerTrace ?? 20_000, maxSpans);
  const maxBytes = limits.maxBytes ?? 256 * 1024 * 1024;
  /** Insertion order = update order: the first entry is the least recently updated. */
  const traces = new Map();
  let spanTotal = 0;
  let byteTotal = 0;
  let evictedTraces = 0;
  const listeners = new Set();

  function summarize(t) {
    let root = null;
    for (const s of t.roots) if (!root || s.startMs < root.startMs) root = s;
    let first = null;
    if (!root) for (const s of t.spans) if (!first || s.startMs < first.startMs) first = s;
    const head = root ?? first;
    return {
      traceId: t.traceId,
      rootService: head ? head.service : '',
      rootName: head ? head.name : '',
      rootMissing: !root,
      services: [...t.services],
      spanCount: t.spans.length,
      errorCount: t.errorCount,
      startMs: t.startMs,
      durationMs: Math.max(0, t.endMs - t.startMs),
      updatedMs: t.updatedMs,
    };
  }

  /**
   * Adds spans (already validated). A span id seen before in the same trace replaces
   * the earlier copy (senders retry). Spans beyond maxSpansPerTrace, or that would make
   * their trace larger than maxBytes, are refused.
   * @param {import('./otlp.mjs').FlatSpan[]} spans
   * @returns {{ accepted: number, refused: number, refusedForSize: number, touched: string[] }}
   */
  function add(spans) {
    const now = Date.now();
    let refused = 0;
    let refusedForSize = 0;
    const touched = new Set();
    for (const s of spans) {
      let t = traces.get(s.traceId);
      if (t) {
        if (!touched.has(s.traceId)) {
          traces.delete(s.traceId); // move to the most recent end
          traces.set(s.traceId, t);
        }
      } else {
        t = {
          traceId: s.traceId,
          spans: [],
          /** spanSize of each span, by position in spans */
          sizes: [],
          /** resources and scopes counted in bytes (each once per trace) */
          shared: new Set(),
          bytes: 0,
          index: new Map(),
          roots: new Set(),
          services: new Set(),
          errorCount: 0,
          startMs: Infinity,
          endMs: -Infinity,
          updatedMs: now,
        };
        traces.set(s.traceId, t);
      }
      touched.add(s.traceId);
      t.updatedMs = now;
      const at = t.index.get(s.spanId);
      let size = spanSize(s);
      if (!t.shared.has(s.resource)) size += sizeOf(s.resource.attributes);
      if (!t.shared.has(s.scope)) size += sizeOf(s.scope);
      if (at === undefined && t.spans.length >= maxSpansPerTrace) {
        refused++;
        continue;
      }
      if (t.bytes + size - (at === undefined ? 0 : t.sizes[at]) > maxBytes) {
        refused++;
        refusedForSize++;
        continue;
      }
      t.shared.add(s.resource);
      t.shared.add(s.scope);
      if (at !== undefined) {
        const old = t.spans[at];
        if (old.status.code === 2) t.errorCount--;
        if (!old.parentSpanId) t.roots.delete(old);
        t.spans[at] = s;
        t.bytes -= t.sizes[at];
        byteTotal -= t.sizes[at];
        t.sizes[at] = size;
      } else {
        t.index.set(s.spanId, t.spans.length);
        t.spans.push(s);
        t.sizes.push(size);
        spanTotal++;
      }
      t.bytes += size;
      byteTotal += size;
      if (s.status.code === 2) t.errorCount++;
      if (!s.parentSpanId) t.roots.add(s);
      t.services.add(s.service);
      if (s.startMs < t.startMs) t.startMs = s.startMs;
      if (s.endMs > t.endMs) t.endMs = s.endMs;
    }
    // A trace this call created and refused every span of holds nothing: it must not
    // stay as an empty trace (listed with no start, its id a 404) and count to maxTraces.
    for (const id of touched) {
      if (traces.get(id).spans.length === 0) {
        traces.delete(id);
        touched.delete(id);
      }
    }
    const evicted = evict();
    const ids = [...touched].filter((id) => traces.has(id));
    notify([...touched, ...evicted]);
    return { accepted: spans.length - refused, refused, refusedForSize, touched: ids };
  }

  /** @returns {string[]} the ids of the traces removed */
  function evict() {
    const removed = [];
    for (const [id, t] of traces) {
      if (traces.size <= maxTraces && spanTotal <= maxSpans && byteTotal <= maxBytes) break;
      traces.delete(id);
      spanTotal -= t.spans.length;
      byteTotal -= t.bytes;
      evictedTraces++;
      removed.push(id);
    }
    return removed;
  }

  /** @param {string[]} ids traces added, updated or removed */
  function notify(ids) {
    if (ids.length > 0) for (const fn of listeners) fn(ids);
  }

  return {
    add,
    /** Summaries, most recently started first. @param {number} [limit] */
    list(limit = 100) {
      const all = [];
      for (const t of traces.values()) all.push(t);
      all.sort((a, b) => b.startMs - a.startMs);
      return all.slice(0, Math.max(0, limit)).map(summarize);
    },
    /** @param {string} traceId */
    summary(traceId) {
      const t = traces.get(traceId);
      return t ? summarize(t) : null;
    },
    /** @param {string} traceId @returns {import('./otlp.mjs').FlatSpan[] | null} */
    spans(traceId) {
      const t = traces.get(traceId);
      return t ? t.spans : null;
    },
    /** Called with the ids of the traces that add() touched or evicted, or that clear() removed. */
    onChange(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    clear() {
      const ids = [...traces.keys()];
      traces.clear();
      spanTotal = 0;
      byteTotal = 0;
      notify(ids);
    },
    stats() {
      return { traces: traces.size, spans: spanTotal, bytes: byteTotal, evictedTraces, maxTraces, maxSpans, maxSpansPerTrace, maxBytes };
    },
  };
}

// The bounded in-memory trace store: the most recently updated traces, limited by
// trace count and by total span count; the least recently updated trace goes first.

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

/**
 * @param {{ maxTraces?: number, maxSpans?: number, maxSpansPerTrace?: number }} [limits]
 */
export function createTraceStore(limits = {}) {
  const maxTraces = limits.maxTraces ?? 500;
  const maxSpans = limits.maxSpans ?? 100_000;
  const maxSpansPerTrace = Math.min(limits.maxSpansPerTrace ?? 20_000, maxSpans);
  /** Insertion order = update order: the first entry is the least recently updated. */
  const traces = new Map();
  let spanTotal = 0;
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
   * the earlier copy (senders retry). Spans beyond maxSpansPerTrace are refused.
   * @param {import('./otlp.mjs').FlatSpan[]} spans
   * @returns {{ accepted: number, refused: number, touched: string[] }}
   */
  function add(spans) {
    const now = Date.now();
    let refused = 0;
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
      if (at !== undefined) {
        const old = t.spans[at];
        if (old.status.code === 2) t.errorCount--;
        if (!old.parentSpanId) t.roots.delete(old);
        t.spans[at] = s;
      } else {
        if (t.spans.length >= maxSpansPerTrace) {
          refused++;
          continue;
        }
        t.index.set(s.spanId, t.spans.length);
        t.spans.push(s);
        spanTotal++;
      }
      if (s.status.code === 2) t.errorCount++;
      if (!s.parentSpanId) t.roots.add(s);
      t.services.add(s.service);
      if (s.startMs < t.startMs) t.startMs = s.startMs;
      if (s.endMs > t.endMs) t.endMs = s.endMs;
    }
    const evicted = evict();
    const ids = [...touched].filter((id) => traces.has(id));
    notify([...touched, ...evicted]);
    return { accepted: spans.length - refused, refused, touched: ids };
  }

  /** @returns {string[]} the ids of the traces removed */
  function evict() {
    const removed = [];
    for (const [id, t] of traces) {
      if (traces.size <= maxTraces && spanTotal <= maxSpans) break;
      traces.delete(id);
      spanTotal -= t.spans.length;
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
      notify(ids);
    },
    stats() {
      return { traces: traces.size, spans: spanTotal, evictedTraces, maxTraces, maxSpans, maxSpansPerTrace };
    },
  };
}

// What the viewer needs from a trace beyond its spans: the tree in waterfall order,
// times relative to the trace start, the critical path and the service graph.
//
// Critical path (the definition trace waterfalls such as Jaeger's use): start at the
// root span with a cursor at its end. Among its children (each clipped to the
// parent's window), take the one that ends last at or before the cursor; the time
// between that child's end and the cursor is the parent's own time on the path; the
// child's part is found the same way inside the child; then move the cursor to the
// child's start and repeat. A child that ends after the cursor overlaps work already
// on the path and is skipped. What is left before the first child is the parent's own
// time again. The segments add up exactly to the root span's duration.

/**
 * @param {import('./otlp.mjs').FlatSpan[]} flat spans of one trace (any order)
 */
export function analyzeTrace(flat) {
  if (flat.length === 0) return null;
  let t0 = null;
  for (const s of flat) {
    const v = BigInt(s.startTimeUnixNano);
    if (t0 === null || v < t0) t0 = v;
  }
  const base = /** @type {bigint} */ (t0);
  /** Working nodes: s/e are nanoseconds from the trace start (exact below 104 days). */
  const nodes = flat.map((span) => {
    const s = Number(BigInt(span.startTimeUnixNano) - base);
    const e = Math.max(s, Number(BigInt(span.endTimeUnixNano) - base));
    return { span, s, e, kids: [], depth: 0, critNs: 0 };
  });
  const byId = new Map(nodes.map((n) => [n.span.spanId, n]));
  const roots = [];
  for (const n of nodes) {
    const p = n.span.parentSpanId ? byId.get(n.span.parentSpanId) : undefined;
    if (p && p !== n) p.kids.push(n);
    else roots.push(n);
  }
  const byStart = (a, b) => a.s - b.s || b.e - a.e;
  roots.sort(byStart);

  // Depth-first order for the waterfall, without recursion (a trace may be a deep chain).
  const order = [];
  const seen = new Set();
  const visit = (start) => {
    const stack = [start];
    while (stack.length > 0) {
      const n = /** @type {any} */ (stack.pop());
      if (seen.has(n)) continue;
      seen.add(n);
      order.push(n);
      n.kids.sort(byStart);
      for (let i = n.kids.length - 1; i >= 0; i--) {
        const k = n.kids[i];
        if (!seen.has(k)) {
          k.depth = n.depth + 1;
          stack.push(k);
        }
      }
    }
  };
  for (const r of roots) visit(r);
  // Spans whose parents form a cycle are reachable from no root: show them as roots.
  for (const n of nodes) {
    if (!seen.has(n)) {
      n.depth = 0;
      roots.push(n);
      visit(n);
    }
  }

  const primary = roots.find((n) => !n.span.parentSpanId) ?? roots[0];
  const segments = criticalPath(primary);
  for (const seg of segments) seg.node.critNs += seg.end - seg.start;

  const resources = [];
  const resourceIndex = new Map();
  const toMs = (ns) => ns / 1e6;
  const spans = order.map((n) => {
    const s = n.span;
    let ri = resourceIndex.get(s.resource);
    if (ri === undefined) {
      ri = resources.length;
      resources.push(s.resource);
      resourceIndex.set(s.resource, ri);
    }
    // Fields listed one by one: object spread is several times slower here.
    return {
      traceId: s.traceId,
      spanId: s.spanId,
      parentSpanId: s.parentSpanId,
      traceState: s.traceState,
      name: s.name,
      kind: s.kind,
      service: s.service,
      startTimeUnixNano: s.startTimeUnixNano,
      endTimeUnixNano: s.endTimeUnixNano,
      attributes: s.attributes,
      droppedAttributesCount: s.droppedAttributesCount,
      events: s.events,
      droppedEventsCount: s.droppedEventsCount,
      links: s.links,
      droppedLinksCount: s.droppedLinksCount,
      status: s.status,
      scope: s.scope,
      resource: ri,
      depth: n.depth,
      startOffsetMs: toMs(n.s),
      durationMs: toMs(n.e - n.s),
      childCount: n.kids.length,
      parentMissing: Boolean(s.parentSpanId) && !byId.has(s.parentSpanId),
      criticalMs: toMs(n.critNs),
    };
  });

  let endNs = 0;
  let errorCount = 0;
  for (const n of nodes) {
    if (n.e > endNs) endNs = n.e;
    if (n.span.status.code === 2) errorCount++;
  }

  return {
    traceId: flat[0].traceId,
    startTimeUnixNano: base.toString(),
    durationMs: toMs(endNs),
    spanCount: nodes.length,
    errorCount,
    rootSpanId: primary.span.spanId,
    roots: roots.map((n) => n.span.spanId),
    spans,
    resources,
    criticalPath: {
      durationMs: toMs(primary.e - primary.s),
      segments: segments.map((g) => ({ spanId: g.node.span.spanId, startOffsetMs: toMs(g.start), endOffsetMs: toMs(g.end) })),
      spanIds: [...new Set(segments.map((g) => g.node.span.spanId))],
    },
    serviceGraph: serviceGraph(nodes, byId),
  };
}

/**
 * @returns {{ node: any, start: number, end: number }[]} in time order, adjacent
 * pieces of one span merged
 */
function criticalPath(root) {
  const out = [];
  // Spans on the current descent: a child already on it closes a parent cycle (the
  // primary span may be a cycle member) and is skipped like an overlapping child.
  const onPath = new Set([root]);
  const frame = (node, winStart, winEnd) => ({
    node,
    winStart,
    winEnd,
    cursor: winEnd,
    kids: node.kids
      .map((k) => ({ k, cs: Math.max(k.s, winStart), ce: Math.min(k.e, winEnd) }))
      .filter((c) => c.ce > c.cs)
      .sort((a, b) => b.ce - a.ce),
    i: 0,
  });
  const stack = [frame(root, root.s, root.e)];
  while (stack.length > 0) {
    const f = stack[stack.length - 1];
    if (f.i < f.kids.length && f.cursor > f.winStart) {
      const c = f.kids[f.i++];
      if (c.ce > f.cursor || onPath.has(c.k)) continue; // overlaps what is already on the path, or a cycle
      if (c.ce < f.cursor) out.push({ node: f.node, start: c.ce, end: f.cursor });
      f.cursor = c.cs;
      onPath.add(c.k);
      stack.push(frame(c.k, c.cs, c.ce));
    } else {
      if (f.cursor > f.winStart) out.push({ node: f.node, start: f.winStart, end: f.cursor });
      onPath.delete(f.node);
      stack.pop();
    }
  }
  out.reverse();
  const merged = [];
  for (const g of out) {
    const last = merged[merged.length - 1];
    if (last && last.node === g.node && last.end === g.start) last.end = g.end;
    else merged.push({ ...g });
  }
  return merged;
}

/** Nodes are services; an edge parent-service → child-service counts the spans that cross it. */
function serviceGraph(nodes, byId) {
  const services = new Map();
  const edges = new Map();
  for (const n of nodes) {
    const svc = n.span.service;
    let v = services.get(svc);
    if (!v) services.set(svc, (v = { service: svc, spanCount: 0, errorCount: 0 }));
    v.spanCount++;
    if (n.span.status.code === 2) v.errorCount++;
    const p = n.span.parentSpanId ? byId.get(n.span.parentSpanId) : undefined;
    if (!p || p.span.service === svc) continue;
    const key = `${p.span.service}\u0000${svc}`;
    let e = edges.get(key);
    if (!e) edges.set(key, (e = { from: p.span.service, to: svc, count: 0, errorCount: 0 }));
    e.count++;
    if (n.span.status.code === 2) e.errorCount++;
  }
  return { nodes: [...services.values()], edges: [...edges.values()] };
}

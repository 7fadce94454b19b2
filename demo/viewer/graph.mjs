// The service dependency graph of one trace: services as boxes in columns by call
// depth, an arrow parent-service → child-service labelled with its call count.
import { colourOf, esc } from './util.mjs';

const COL_PX = 190;
const ROW_PX = 56;
const BOX_W = 150;
const BOX_H = 34;

/**
 * @param {{ nodes: { service: string, spanCount: number, errorCount: number }[],
 *           edges: { from: string, to: string, count: number, errorCount: number }[] }} graph
 * @param {string} rootService drawn in the first column
 * @returns {string} SVG markup
 */
export function serviceGraphSvg(graph, rootService) {
  // Column = call distance from the root service (breadth-first, so cycles end);
  // services the root never reaches start their own chains in the first column.
  const out = new Map();
  for (const e of graph.edges) {
    const list = out.get(e.from) ?? [];
    list.push(e.to);
    out.set(e.from, list);
  }
  const rank = new Map();
  const starts = [rootService, ...graph.nodes.map((v) => v.service)];
  for (const start of starts) {
    if (rank.has(start)) continue;
    rank.set(start, 0);
    const queue = [start];
    for (let q = 0; q < queue.length; q++) {
      const svc = queue[q];
      for (const next of out.get(svc) ?? []) {
        if (rank.has(next)) continue;
        rank.set(next, (rank.get(svc) ?? 0) + 1);
        queue.push(next);
      }
    }
  }

  const columns = new Map();
  const pos = new Map();
  for (const v of graph.nodes) {
    const r = rank.get(v.service) ?? 0;
    const row = columns.get(r) ?? 0;
    columns.set(r, row + 1);
    pos.set(v.service, { x: 10 + r * COL_PX, y: 10 + row * ROW_PX });
  }
  const width = 90 + (Math.max(0, ...columns.keys()) + 1) * COL_PX;
  const height = 20 + Math.max(1, ...columns.values()) * ROW_PX;

  let svg = `<svg class="graph" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="service dependency graph">` +
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">' +
    '<path d="M 0 0 L 10 5 L 0 10 z" fill="#666"/></marker></defs>';
  let loop = 0;
  for (const e of graph.edges) {
    const a = pos.get(e.from);
    const b = pos.get(e.to);
    if (!a || !b) continue;
    let d;
    let lx;
    let ly;
    if (b.x > a.x) {
      const x1 = a.x + BOX_W;
      const y1 = a.y + BOX_H / 2;
      const x2 = b.x;
      const y2 = b.y + BOX_H / 2;
      d = `M ${x1} ${y1} C ${x1 + 30} ${y1}, ${x2 - 30} ${y2}, ${x2} ${y2}`;
      lx = (x1 + x2) / 2;
      ly = (y1 + y2) / 2 - 4;
    } else {
      // Backward and same-column calls loop out to the right of both boxes, each a bit further.
      const bulge = Math.max(a.x, b.x) + BOX_W + 22 + 14 * (loop++ % 4);
      const y1 = a.y + BOX_H / 2 + 6;
      const y2 = b.y + BOX_H / 2 - 6;
      d = `M ${a.x + BOX_W} ${y1} C ${bulge} ${y1}, ${bulge} ${y2}, ${b.x + BOX_W} ${y2}`;
      lx = bulge - 4;
      ly = (y1 + y2) / 2;
    }
    svg += `<g class="edge" data-from="${esc(e.from)}" data-to="${esc(e.to)}"><path d="${d}" fill="none" stroke="${e.errorCount ? '#c0392b' : '#666'}" stroke-width="1.5" marker-end="url(#arrow)"/>` +
      `<text x="${lx}" y="${ly}" text-anchor="middle">${e.count}×${e.errorCount ? ` (${e.errorCount} err)` : ''}</text></g>`;
  }
  for (const v of graph.nodes) {
    const p = pos.get(v.service);
    svg += `<g class="node" data-service="${esc(v.service)}"><rect x="${p.x}" y="${p.y}" width="${BOX_W}" height="${BOX_H}" rx="6" fill="${colourOf(v.service)}" fill-opacity="0.18" stroke="${colourOf(v.service)}" stroke-width="2"/>` +
      `<text x="${p.x + 8}" y="${p.y + 15}" class="svc-name">${esc(v.service.length > 20 ? v.service.slice(0, 19) + '…' : v.service)}</text>` +
      `<text x="${p.x + 8}" y="${p.y + 28}" class="svc-meta">${v.spanCount} spans${v.errorCount ? ` · ${v.errorCount} errors` : ''}</text></g>`;
  }
  return svg + '</svg>';
}

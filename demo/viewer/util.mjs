// Small helpers shared by the viewer's modules.

const ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Everything shown comes from whoever sent the spans: escape it. @param {unknown} s */
export const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ESC[c]);

const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#76b7b2', '#edc948', '#ff9da7', '#9c755f', '#bab0ac', '#86bcb6', '#d37295', '#a0cbe8'];
const colours = new Map();
/** One colour per service for the whole session, in order of first appearance. @param {string} service */
export function colourOf(service) {
  let c = colours.get(service);
  if (!c) {
    const i = colours.size;
    c = i < PALETTE.length ? PALETTE[i] : `hsl(${(i * 137.5) % 360} 55% 55%)`;
    colours.set(service, c);
  }
  return c;
}

/** @param {number} ms */
export function fmtMs(ms) {
  if (!Number.isFinite(ms)) return '–';
  if (ms >= 1000) return `${(ms / 1000).toFixed(ms >= 10_000 ? 1 : 2)} s`;
  if (ms >= 1) return `${ms.toFixed(ms >= 100 ? 0 : 1)} ms`;
  return `${(ms * 1000).toFixed(0)} µs`;
}

/** @param {number} epochMs */
export function fmtClock(epochMs) {
  const d = new Date(epochMs);
  return d.toLocaleTimeString([], { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
}

export const KIND = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
export const STATUS = ['unset', 'ok', 'error'];

/** A "nice" step for axis ticks: 1, 2 or 5 × 10^k, at most about `count` ticks over `span`. */
export function tickStep(span, count) {
  const raw = span / Math.max(1, count);
  const p = 10 ** Math.floor(Math.log10(raw || 1));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

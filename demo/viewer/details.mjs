// The selected span in full: identity, timing, status, attributes, events, links,
// resource and instrumentation scope.
import { KIND, STATUS, esc, fmtMs } from './util.mjs';

function valueText(v) {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function table(obj) {
  const keys = Object.keys(obj);
  if (keys.length === 0) return '<p class="none">none</p>';
  keys.sort();
  return `<table class="kv">${keys.map((k) => `<tr><th>${esc(k)}</th><td>${esc(valueText(obj[k]))}</td></tr>`).join('')}</table>`;
}

/**
 * @param {any} span one of GET /api/traces/:id `spans`
 * @param {any} trace the whole answer (for resources, the trace start, the trace id)
 */
export function spanDetailsHtml(span, trace) {
  const t0 = BigInt(trace.startTimeUnixNano);
  const offset = (nanos) => fmtMs(Number(BigInt(nanos) - t0) / 1e6);
  const resource = trace.resources[span.resource] ?? { attributes: {} };
  const status = `${STATUS[span.status.code] ?? span.status.code}${span.status.message ? `: ${esc(span.status.message)}` : ''}`;
  const events = span.events.length === 0
    ? '<p class="none">none</p>'
    : span.events.map((e) => `<div class="event"><b>${esc(e.name)}</b> at ${esc(offset(e.timeUnixNano))}${table(e.attributes)}</div>`).join('');
  const links = span.links.length === 0
    ? '<p class="none">none</p>'
    : span.links.map((l) => {
      const here = l.traceId === trace.traceId;
      const href = here ? `#trace=${esc(trace.traceId)}&span=${esc(l.spanId)}` : `#trace=${esc(l.traceId)}&span=${esc(l.spanId)}`;
      return `<div class="link"><a href="${href}">${here ? 'span' : 'trace ' + esc(l.traceId) + ' span'} ${esc(l.spanId)}</a>${table(l.attributes)}</div>`;
    }).join('');
  const dropped = [
    span.droppedAttributesCount ? `${span.droppedAttributesCount} attributes` : '',
    span.droppedEventsCount ? `${span.droppedEventsCount} events` : '',
    span.droppedLinksCount ? `${span.droppedLinksCount} links` : '',
  ].filter(Boolean).join(', ');
  return `
    <h3><span class="svc">${esc(span.service)}</span> ${esc(span.name)}</h3>
    <table class="kv facts">
      <tr><th>span id</th><td>${esc(span.spanId)}</td></tr>
      <tr><th>parent</th><td>${span.parentSpanId ? `<a href="#trace=${esc(trace.traceId)}&span=${esc(span.parentSpanId)}">${esc(span.parentSpanId)}</a>${span.parentMissing ? ' (not received)' : ''}` : 'none (root)'}</td></tr>
      <tr><th>kind</th><td>${esc(KIND[span.kind] ?? span.kind)}</td></tr>
      <tr><th>start</th><td>+${esc(fmtMs(span.startOffsetMs))}</td></tr>
      <tr><th>duration</th><td>${esc(fmtMs(span.durationMs))}</td></tr>
      <tr><th>on critical path</th><td>${span.criticalMs > 0 ? esc(fmtMs(span.criticalMs)) : 'no'}</td></tr>
      <tr><th>status</th><td class="${span.status.code === 2 ? 'err' : ''}">${status}</td></tr>
      ${span.traceState ? `<tr><th>tracestate</th><td>${esc(span.traceState)}</td></tr>` : ''}
      ${dropped ? `<tr><th>dropped</th><td>${esc(dropped)}</td></tr>` : ''}
      <tr><th>scope</th><td>${esc(span.scope.name)} ${esc(span.scope.version)}</td></tr>
    </table>
    <h4>Attributes</h4>${table(span.attributes)}
    <h4>Events</h4>${events}
    <h4>Links</h4>${links}
    <h4>Resource</h4>${table(resource.attributes)}`;
}

// The viewer's page: the live list of recent traces (server-sent events), and the
// selected trace — its service graph, waterfall and span details. Routes live in the
// hash: #trace=<traceId>&span=<spanId>.
import { spanDetailsHtml } from './details.mjs';
import { serviceGraphSvg } from './graph.mjs';
import { colourOf, esc, fmtClock, fmtMs } from './util.mjs';
import { createWaterfall } from './waterfall.mjs';

const MAX_LIST_ROWS = 300;
/** Summaries kept: the store's list API gives at most this many; the oldest updated go first. */
const MAX_SUMMARIES = 1000;
const RELOAD_DELAY_MS = 800;

/**
 * The store's traces as the list API and the event stream report them, in update
 * order (the first entry is the least recently updated).
 * @type {Map<string, any>}
 */
const summaries = new Map();
const listBody = /** @type {HTMLElement} */ (document.querySelector('#traces tbody'));
const detail = /** @type {HTMLElement} */ (document.getElementById('detail'));
/** @type {{ traceId: string, trace: any, waterfall: ReturnType<typeof createWaterfall> } | null} */
let current = null;
let reloadTimer = 0;

/**
 * For tests and the benchmark: the state of the page and how long the last trace
 * took to show (fetchMs: request + JSON; renderMs: DOM until the next frame).
 */
const api = {
  state: 'idle',
  /** @type {{ traceId: string, spanCount: number, fetchMs: number, renderMs: number, totalMs: number } | null} */
  lastRender: null,
  summaries,
};
Object.assign(window, { wasmtraceViewer: api });
function setState(state) {
  api.state = state;
  document.documentElement.dataset.state = state;
}

const endpoint = document.getElementById('endpoint');
if (endpoint) endpoint.textContent = `${location.origin}/v1/traces`;

/** @param {any} summary */
function putSummary(summary) {
  summaries.delete(summary.traceId);
  summaries.set(summary.traceId, summary);
  for (const id of summaries.keys()) {
    if (summaries.size <= MAX_SUMMARIES) break;
    summaries.delete(id);
  }
}

let listQueued = false;
/** Many events arrive at once: draw the list once per frame. */
function queueRenderList() {
  if (listQueued) return;
  listQueued = true;
  requestAnimationFrame(() => {
    listQueued = false;
    renderList();
  });
}

function renderList() {
  const all = [...summaries.values()].sort((a, b) => b.startMs - a.startMs).slice(0, MAX_LIST_ROWS);
  const selectedId = current?.traceId ?? routeOf().traceId;
  listBody.innerHTML = all.map((t) => `
    <tr data-trace="${esc(t.traceId)}" class="${t.traceId === selectedId ? 'sel' : ''}${t.errorCount ? ' has-err' : ''}">
      <td class="time">${esc(fmtClock(t.startMs))}</td>
      <td class="root"><i class="chip" style="background:${colourOf(t.rootService)}"></i><span class="svc">${esc(t.rootService)}</span> ${esc(t.rootName)}${t.rootMissing ? ' <span class="orphan" title="root span not received yet">no root</span>' : ''}
        <div class="svcs">${t.services.map((s) => `<i class="chip" style="background:${colourOf(s)}" title="${esc(s)}"></i>`).join('')}</div></td>
      <td class="num">${t.spanCount}</td>
      <td class="num">${esc(fmtMs(t.durationMs))}</td>
      <td class="num ${t.errorCount ? 'err' : ''}">${t.errorCount}</td>
    </tr>`).join('');
  /** @type {HTMLElement} */ (document.getElementById('empty')).hidden = all.length > 0;
  /** @type {HTMLElement} */ (document.getElementById('trace-count')).textContent = `${summaries.size}`;
}

listBody.addEventListener('click', (ev) => {
  const row = /** @type {HTMLElement} */ (ev.target).closest('tr[data-trace]');
  if (row) location.hash = `trace=${row.getAttribute('data-trace')}`;
});

function routeOf() {
  const p = new URLSearchParams(location.hash.slice(1));
  return { traceId: (p.get('trace') ?? '').toLowerCase(), spanId: (p.get('span') ?? '').toLowerCase() };
}

/** @param {string} url @param {AbortSignal} [signal] */
async function fetchJson(url, signal) {
  const res = await fetch(url, { cache: 'no-store', signal });
  if (!res.ok) throw Object.assign(new Error((await res.json().catch(() => null))?.error ?? `HTTP ${res.status}`), { status: res.status });
  return res.json();
}

/** The trace being loaded, if any: an answer to an earlier request is dropped (and its fetch aborted). */
let showing = /** @type {AbortController | null} */ (null);

/** @param {string} traceId @param {{ keepView?: boolean }} [opts] */
async function showTrace(traceId, opts = {}) {
  showing?.abort();
  const me = (showing = new AbortController());
  setState('loading');
  const t0 = performance.now();
  let trace;
  try {
    trace = await fetchJson(`api/traces/${traceId}`, me.signal);
  } catch (err) {
    if (showing !== me) return;
    current?.waterfall.destroy();
    current = null;
    detail.innerHTML = `<p class="empty">Trace ${esc(traceId)}: ${esc(err instanceof Error ? err.message : String(err))}</p>`;
    showing = null;
    setState('error');
    return;
  }
  if (showing !== me) return;
  const t1 = performance.now();
  const keep = opts.keepView && current?.traceId === traceId
    ? { scrollTop: current.waterfall.scroller.scrollTop, graphOpen: /** @type {HTMLDetailsElement} */ (detail.querySelector('.graph-box'))?.open }
    : null;
  current?.waterfall.destroy();
  const rootSpan = trace.spans.find((s) => s.spanId === trace.rootSpanId) ?? trace.spans[0];
  detail.innerHTML = `
    <div class="trace-head">
      <h2><i class="chip" style="background:${colourOf(rootSpan.service)}"></i><span class="svc">${esc(rootSpan.service)}</span> ${esc(rootSpan.name)}</h2>
      <div class="facts">
        <span>trace <code>${esc(trace.traceId)}</code></span>
        <span>${esc(fmtMs(trace.durationMs))}</span>
        <span>${trace.spanCount} spans</span>
        <span class="${trace.errorCount ? 'err' : ''}">${trace.errorCount} errors</span>
        <span>critical path: ${trace.criticalPath.spanIds.length} spans over ${esc(fmtMs(trace.criticalPath.durationMs))}</span>
      </div>
      <div class="legend">${trace.serviceGraph.nodes.map((v) => `<span><i class="chip" style="background:${colourOf(v.service)}"></i>${esc(v.service)}</span>`).join('')}
        <span><i class="chip cp-chip"></i>critical path</span></div>
    </div>
    <details class="graph-box"${keep?.graphOpen === false ? '' : ' open'}><summary>Service dependency graph</summary>
      <div class="graph-wrap">${serviceGraphSvg(trace.serviceGraph, rootSpan.service)}</div></details>
    <div class="trace-body">
      <div class="wf"></div>
      <aside class="span-details"><p class="empty">Select a span.</p></aside>
    </div>`;
  const detailsEl = /** @type {HTMLElement} */ (detail.querySelector('.span-details'));
  const waterfall = createWaterfall(/** @type {HTMLElement} */ (detail.querySelector('.wf')), trace, {
    onSelect(span) {
      detailsEl.innerHTML = spanDetailsHtml(span, trace);
      const route = routeOf();
      if (route.spanId !== span.spanId) history.replaceState(null, '', `#trace=${trace.traceId}&span=${span.spanId}`);
    },
  });
  current = { traceId, trace, waterfall };
  if (keep) waterfall.scroller.scrollTop = keep.scrollTop;
  const spanId = routeOf().spanId;
  if (spanId) waterfall.selectSpan(spanId);
  renderList();
  // Measured to the frame after the DOM is built: layout and paint included.
  await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
  if (showing !== me) return;
  showing = null;
  const t2 = performance.now();
  api.lastRender = { traceId, spanCount: trace.spanCount, fetchMs: t1 - t0, renderMs: t2 - t1, totalMs: t2 - t0 };
  setState('rendered');
}

function onRoute() {
  const { traceId, spanId } = routeOf();
  if (!traceId) return;
  if (current?.traceId === traceId) {
    // Back to the trace on screen while another loads: that one is no longer wanted.
    if (showing) {
      showing.abort();
      showing = null;
      renderList();
      setState('rendered');
    }
    if (spanId) current.waterfall.selectSpan(spanId);
    return;
  }
  void showTrace(traceId);
}
window.addEventListener('hashchange', onRoute);

function connectEvents() {
  const live = /** @type {HTMLElement} */ (document.getElementById('live'));
  const source = new EventSource('api/events');
  source.addEventListener('open', () => {
    live.textContent = 'live';
    live.className = 'live on';
    // Catch up on what happened while disconnected.
    void loadList();
  });
  source.addEventListener('error', () => {
    live.textContent = 'reconnecting…';
    live.className = 'live';
  });
  source.addEventListener('trace', (ev) => {
    const summary = JSON.parse(/** @type {MessageEvent} */ (ev).data);
    putSummary(summary);
    queueRenderList();
    if (current?.traceId === summary.traceId && summary.spanCount !== current.trace.spanCount) {
      clearTimeout(reloadTimer);
      reloadTimer = window.setTimeout(() => {
        if (routeOf().traceId === summary.traceId) void showTrace(summary.traceId, { keepView: true });
      }, RELOAD_DELAY_MS);
    }
  });
  source.addEventListener('evicted', (ev) => {
    const { traceId } = JSON.parse(/** @type {MessageEvent} */ (ev).data);
    summaries.delete(traceId);
    goneDuringLoad?.add(traceId);
    queueRenderList();
  });
}

/** Traces reported gone while the list request is out: the answer may predate that. */
let goneDuringLoad = /** @type {Set<string> | null} */ (null);

/**
 * Makes the list the store's again (on connecting: events missed while disconnected
 * are lost). What events reported during the request is newer than the answer: kept.
 */
async function loadList() {
  const before = new Set(summaries.keys());
  const gone = (goneDuringLoad = new Set());
  try {
    const { traces } = await fetchJson(`api/traces?limit=${MAX_SUMMARIES}`);
    const listed = new Set(traces.map((t) => t.traceId));
    for (const id of before) if (!listed.has(id)) summaries.delete(id);
    for (const t of traces.sort((a, b) => a.updatedMs - b.updatedMs)) {
      if (!gone.has(t.traceId) && !(summaries.get(t.traceId)?.updatedMs >= t.updatedMs)) putSummary(t);
    }
    renderList();
  } catch {
    // The event stream reconnects and reloads the list.
  } finally {
    if (goneDuringLoad === gone) goneDuringLoad = null;
  }
}

await loadList();
connectEvents();
onRoute();

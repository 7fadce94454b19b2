// The waterfall: one row per span in tree order, bars on a shared time axis, the
// critical path drawn over the bars. Rows are virtualized: only those in view (plus a
// margin) exist in the DOM, so a trace of thousands of spans scrolls like a short one.
import { colourOf, esc, fmtMs, tickStep } from './util.mjs';

export const ROW_PX = 22;
const OVERSCAN_ROWS = 12;
const INDENT_PX = 10;
const MAX_INDENT_DEPTH = 16;

/**
 * @param {HTMLElement} host
 * @param {any} trace the answer of GET /api/traces/:id
 * @param {{ onSelect(span: any): void }} hooks
 */
export function createWaterfall(host, trace, hooks) {
  const spans = trace.spans;
  const n = spans.length;
  const total = trace.durationMs > 0 ? trace.durationMs : 1;
  const indexById = new Map(spans.map((s, i) => [s.spanId, i]));
  // spans come in depth-first order, so a subtree is the run of rows after its root
  // that are deeper than it.
  const subtreeEnd = new Int32Array(n);
  {
    const open = [];
    for (let i = 0; i < n; i++) {
      while (open.length > 0 && spans[open[open.length - 1]].depth >= spans[i].depth) subtreeEnd[open.pop()] = i;
      open.push(i);
    }
    while (open.length > 0) subtreeEnd[open.pop()] = n;
  }
  const critical = new Map();
  for (const seg of trace.criticalPath.segments) {
    const list = critical.get(seg.spanId) ?? [];
    list.push(seg);
    critical.set(seg.spanId, list);
  }

  const collapsed = new Set();
  let mode = 'all';
  let query = '';
  /** @type {Int32Array | number[]} rows shown, as indices into spans */
  let rows = [];
  let selected = -1;

  host.innerHTML = `
    <div class="wf-tools">
      <label><input type="radio" name="wf-mode" value="all" checked> all spans</label>
      <label><input type="radio" name="wf-mode" value="critical"> critical path only</label>
      <input type="search" class="wf-find" placeholder="filter: name, service or attribute value" aria-label="filter spans">
      <button type="button" class="wf-collapse">collapse all</button>
      <button type="button" class="wf-expand">expand all</button>
      <span class="wf-count"></span>
    </div>
    <div class="wf-axis"><div class="wf-axis-label">service · span</div><div class="wf-axis-ticks"></div></div>
    <div class="wf-scroll" tabindex="0" aria-label="spans">
      <div class="wf-spacer"></div>
      <div class="wf-rows"></div>
    </div>`;
  const scroller = /** @type {HTMLElement} */ (host.querySelector('.wf-scroll'));
  const spacer = /** @type {HTMLElement} */ (host.querySelector('.wf-spacer'));
  const rowsEl = /** @type {HTMLElement} */ (host.querySelector('.wf-rows'));
  const countEl = /** @type {HTMLElement} */ (host.querySelector('.wf-count'));

  // About one label per 90 px of axis, so labels never run into each other.
  const axis = /** @type {HTMLElement} */ (host.querySelector('.wf-axis-ticks'));
  const step = tickStep(total, Math.max(2, Math.floor((axis.clientWidth || 450) / 90)));
  let ticks = '';
  for (let t = 0; t <= total + 1e-9; t += step) {
    ticks += `<span class="tick" style="left:${((t / total) * 100).toFixed(3)}%">${esc(fmtMs(t))}</span>`;
  }
  axis.innerHTML = ticks;

  function matches(s) {
    if (s.name.toLowerCase().includes(query) || s.service.toLowerCase().includes(query)) return true;
    for (const v of Object.values(s.attributes)) if (String(v).toLowerCase().includes(query)) return true;
    return false;
  }

  function computeRows() {
    const out = [];
    if (mode === 'critical') {
      for (let i = 0; i < n; i++) if (critical.has(spans[i].spanId)) out.push(i);
    } else if (query) {
      for (let i = 0; i < n; i++) if (matches(spans[i])) out.push(i);
    } else {
      for (let i = 0; i < n; ) {
        out.push(i);
        i = collapsed.has(i) ? subtreeEnd[i] : i + 1;
      }
    }
    rows = out;
    spacer.style.height = `${rows.length * ROW_PX}px`;
    countEl.textContent = `${rows.length} of ${n} spans shown`;
    paint();
  }

  function rowHtml(i, pos) {
    const s = spans[i];
    const colour = colourOf(s.service);
    const left = (s.startOffsetMs / total) * 100;
    const width = (s.durationMs / total) * 100;
    const indent = Math.min(s.depth, MAX_INDENT_DEPTH) * INDENT_PX + 4;
    const twisty = s.childCount > 0 && mode === 'all' && !query
      ? `<button class="tw" data-toggle="${i}" aria-label="${collapsed.has(i) ? 'expand' : 'collapse'}">${collapsed.has(i) ? '▸' : '▾'}</button>`
      : '<span class="tw-pad"></span>';
    let cp = '';
    for (const seg of critical.get(s.spanId) ?? []) {
      cp += `<div class="cp" style="left:${((seg.startOffsetMs / total) * 100).toFixed(4)}%;width:${(((seg.endOffsetMs - seg.startOffsetMs) / total) * 100).toFixed(4)}%"></div>`;
    }
    const err = s.status.code === 2;
    const cls = `row${i === selected ? ' sel' : ''}${critical.has(s.spanId) ? ' crit' : ''}${err ? ' err' : ''}`;
    const durLeft = Math.min(left + width, 88);
    return `<div class="${cls}" data-i="${i}" style="top:${pos * ROW_PX}px">` +
      `<div class="label" style="padding-left:${indent}px">${twisty}<i class="chip" style="background:${colour}"></i>` +
      `<span class="svc">${esc(s.service)}</span> <span class="nm">${esc(s.name)}</span>${err ? ' <b class="errmark">!</b>' : ''}` +
      `${s.parentMissing ? ' <span class="orphan" title="parent span not received">orphan</span>' : ''}</div>` +
      `<div class="tl"><div class="bar" style="left:${left.toFixed(4)}%;width:${width.toFixed(4)}%;background:${colour}"></div>${cp}` +
      `<span class="dur" style="left:${durLeft.toFixed(2)}%">${esc(fmtMs(s.durationMs))}</span></div></div>`;
  }

  let frame = 0;
  function paint() {
    frame = 0;
    const first = Math.max(0, Math.floor(scroller.scrollTop / ROW_PX) - OVERSCAN_ROWS);
    const last = Math.min(rows.length, Math.ceil((scroller.scrollTop + scroller.clientHeight) / ROW_PX) + OVERSCAN_ROWS);
    let html = '';
    for (let p = first; p < last; p++) html += rowHtml(rows[p], p);
    rowsEl.innerHTML = html;
  }
  const schedule = () => {
    if (!frame) frame = requestAnimationFrame(paint);
  };
  scroller.addEventListener('scroll', schedule, { passive: true });
  const onResize = () => schedule();
  window.addEventListener('resize', onResize);

  function select(i, scrollIntoView) {
    if (i < 0 || i >= n) return;
    selected = i;
    if (scrollIntoView) {
      let pos = rows.indexOf(i);
      if (pos < 0) {
        // Reveal it: drop the filter, expand its collapsed ancestors.
        mode = 'all';
        query = '';
        const allMode = /** @type {HTMLInputElement | null} */ (host.querySelector('input[name="wf-mode"][value="all"]'));
        if (allMode) allMode.checked = true;
        const find = /** @type {HTMLInputElement | null} */ (host.querySelector('.wf-find'));
        if (find) find.value = '';
        for (let a = 0; a < i; a++) if (collapsed.has(a) && subtreeEnd[a] > i) collapsed.delete(a);
        computeRows();
        pos = rows.indexOf(i);
      }
      if (pos >= 0) {
        const y = pos * ROW_PX;
        if (y < scroller.scrollTop || y + ROW_PX > scroller.scrollTop + scroller.clientHeight) {
          scroller.scrollTop = Math.max(0, y - scroller.clientHeight / 3);
        }
      }
    }
    paint();
    hooks.onSelect(spans[i]);
  }

  rowsEl.addEventListener('click', (ev) => {
    const target = /** @type {HTMLElement} */ (ev.target);
    const toggle = target.closest('[data-toggle]');
    if (toggle) {
      const i = Number(toggle.getAttribute('data-toggle'));
      if (collapsed.has(i)) collapsed.delete(i);
      else collapsed.add(i);
      computeRows();
      return;
    }
    const row = target.closest('.row');
    if (row) select(Number(row.getAttribute('data-i')), false);
  });
  scroller.addEventListener('keydown', (ev) => {
    if (ev.key !== 'ArrowDown' && ev.key !== 'ArrowUp') return;
    ev.preventDefault();
    const pos = rows.indexOf(selected);
    const next = ev.key === 'ArrowDown' ? Math.min(rows.length - 1, pos + 1) : Math.max(0, pos - 1);
    if (rows[next] !== undefined) select(rows[next], true);
  });
  host.addEventListener('change', (ev) => {
    const t = /** @type {HTMLInputElement} */ (ev.target);
    if (t.name === 'wf-mode') {
      mode = t.value;
      computeRows();
    }
  });
  let findTimer = 0;
  host.querySelector('.wf-find')?.addEventListener('input', (ev) => {
    clearTimeout(findTimer);
    findTimer = window.setTimeout(() => {
      query = /** @type {HTMLInputElement} */ (ev.target).value.trim().toLowerCase();
      computeRows();
    }, 120);
  });
  host.querySelector('.wf-collapse')?.addEventListener('click', () => {
    for (let i = 0; i < n; i++) if (spans[i].childCount > 0 && spans[i].depth >= 1) collapsed.add(i);
    computeRows();
  });
  host.querySelector('.wf-expand')?.addEventListener('click', () => {
    collapsed.clear();
    computeRows();
  });

  computeRows();
  return {
    /** @param {string} spanId */
    selectSpan(spanId) {
      const i = indexById.get(spanId);
      if (i !== undefined) select(i, true);
    },
    get scroller() {
      return scroller;
    },
    destroy() {
      window.removeEventListener('resize', onResize);
      if (frame) cancelAnimationFrame(frame);
    },
  };
}

// One table for every figure: plain text for the terminal, Markdown for docs.

const fmt = (v) => {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 100) return Math.round(v).toLocaleString('en-US');
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
};
const pct = (v) => (v === undefined ? '' : `±${(v / 2).toFixed(0)}%`);
const ratio = (f) => (f.ratio === undefined ? '' : `${fmt(f.ratio)}x`);
const spreadOf = (f) => {
  const s = f.spread;
  if (!s) return '';
  return [s.wasmtrace, s.rival].filter((x) => x !== undefined).map(pct).join(' / ');
};

/** Rows: `{ group, figure }` or `{ group, pending: 'why' }` / `{ group, error }`. */
export function rows(groups) {
  const out = [];
  for (const [group, g] of Object.entries(groups)) {
    if (g.error) out.push([group, 'ERROR', '', '', '', '', '', String(g.error).split('\n')[0]]);
    else if (g.pending) out.push([group, 'pending', '', '', '', '', '', g.pending]);
    else
      for (const f of g.figures)
        out.push([group, f.name, f.unit, fmt(f.wasmtrace), fmt(f.rival), ratio(f), spreadOf(f), f.rivalName ?? '']);
  }
  return out;
}

const HEAD = ['bench', 'figure', 'unit', 'wasmtrace', 'rival', 'ratio', 'spread (ours / rival)', 'rival is'];

export function textTable(groups) {
  const all = [HEAD, ...rows(groups)];
  const w = HEAD.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const right = new Set([3, 4, 5]);
  const line = (r) => r.map((c, i) => (right.has(i) ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ').trimEnd();
  return [line(all[0]), w.map((n) => '-'.repeat(n)).join('  '), ...all.slice(1).map(line)].join('\n');
}

export function markdownTable(groups) {
  const esc = (s) => s.replace(/\|/g, '\\|');
  const lines = [`| ${HEAD.join(' | ')} |`, `| ${HEAD.map((_, i) => ([3, 4, 5].includes(i) ? '---:' : '---')).join(' | ')} |`];
  for (const r of rows(groups)) lines.push(`| ${r.map(esc).join(' | ')} |`);
  return lines.join('\n');
}

export function machineLine(m) {
  return `${m.date} · ${m.cpu} × ${m.cores} · ${m.memoryGiB} GiB · ${m.os} · Node ${m.node} · ${m.browser ?? 'no browser'} · wasmtrace ${m.wasmtrace} (${m.commit ?? '?'})`;
}

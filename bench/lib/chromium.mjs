// Headless Chromium for browser benchmarks (playwright-core, the system
// browser, the flags from docs/platform.md), and esbuild for page bundles.
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import * as esbuild from 'esbuild';
import { chromePath } from './machine.mjs';

const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic'];

export function launch() {
  return chromium.launch({ executablePath: chromePath(), args: ARGS, timeout: 60_000 });
}

/** Bundles a page entry (a file: URL) for the browser: minified ESM, as an app would ship it. */
export async function bundlePage(entry) {
  const r = await esbuild.build({
    entryPoints: [fileURLToPath(entry)], bundle: true, minify: true, format: 'esm', platform: 'browser',
    target: 'es2022', mangleProps: /^_/, define: { 'process.env.NODE_ENV': '"production"' }, write: false, logLevel: 'silent',
  });
  return r.outputFiles[0].contents;
}

/**
 * Records a Chrome trace (CDP Tracing domain, browser-wide) around `fn()`;
 * resolves to `{ result, events }`, the trace events as JSON objects.
 */
export async function traced(browser, categories, fn) {
  const cdp = await browser.newBrowserCDPSession();
  const events = [];
  cdp.on('Tracing.dataCollected', (e) => events.push(...e.value));
  const complete = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
  await cdp.send('Tracing.start', { traceConfig: { includedCategories: categories, recordMode: 'recordAsMuchAsPossible' }, transferMode: 'ReportEvents' });
  let result;
  try {
    result = await fn();
  } finally {
    await cdp.send('Tracing.end');
    await complete;
    await cdp.detach();
  }
  return { result, events };
}

/** Trace categories `scriptMainThread` reads: tasks, script entry points, microtasks, Wasm. */
export const MAIN_THREAD_CATEGORIES = ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8', 'v8.execute', 'v8.wasm'];

const urlOf = (e) => e.args?.data?.url ?? e.args?.fileName ?? e.args?.url;
const inside = (a, b) => a.ts >= b.ts && a.ts + a.dur <= b.ts + b.dur;

/**
 * The main-thread time a trace attributes to one script (a URL), per task.
 * The main thread is the renderer thread that compiled the script. Counted:
 * - its evaluation: `EvaluateScript` / `v8.compile` (classic script), or
 *   `v8.compileModule` and the `v8.evaluateModule` after it (module script);
 * - every callback of it (`FunctionCall` whose script is it: listeners,
 *   timers, idle and animation-frame callbacks, observers, message ports),
 *   with the microtask checkpoint that runs when the callback returns (the
 *   `v8.callFunction` around the `FunctionCall`: its promise continuations);
 * - a top-level microtask checkpoint (`RunMicrotasks`) in which one of its
 *   callbacks or a Wasm event runs (a promise reaction of its own: a fetch
 *   or compile it awaited);
 * - Wasm work on the main thread (`wasm.*`, `v8.wasm.*`: streaming compile
 *   finish, instantiation, lazy function compiles); only this script may run
 *   Wasm on the pages it is used for;
 * - with `orphanMicrotasks`, every top-level microtask checkpoint outside
 *   any script's callback or evaluation: promise reactions to the browser's
 *   own work (a fetch, a compression stream) that no URL names. On a page
 *   whose only other script awaits nothing heavy, those are the SDK's.
 * Nested slices are counted once: per task (`RunTask`), the union of the
 * counted intervals, in wall time (`dur`) and in the thread's CPU time
 * (`tdur`: what a shared machine's preemption does not inflate). Returns
 * `{ wall, cpu, tasks, orphans, slices }`: wall and cpu are
 * `{ totalMs, longestMs }` (sum over tasks, largest share of one task);
 * tasks is the number of tasks touched; orphans `{ wall, cpu }`, the ms of
 * those orphan checkpoints (counted or not); slices, per task,
 * `{ ts, wallMs, cpuMs, taskMs, what }`.
 */
export function scriptMainThread(events, scriptUrl, { orphanMicrotasks = false } = {}) {
  const hits = new Map();
  for (const e of events) {
    if (e.ph === 'X' && /^(EvaluateScript|v8\.compile|v8\.compileModule|FunctionCall)$/.test(e.name) && urlOf(e) === scriptUrl) {
      const k = `${e.pid}:${e.tid}`;
      hits.set(k, (hits.get(k) ?? 0) + 1);
    }
  }
  const thread = [...hits].sort((a, b) => b[1] - a[1])[0]?.[0];
  if (!thread) throw new Error(`no trace events of ${scriptUrl}`);
  const xs = events.filter((e) => e.ph === 'X' && `${e.pid}:${e.tid}` === thread).sort((a, b) => a.ts - b.ts || b.dur - a.dur);
  const calls = xs.filter((e) => e.name === 'v8.callFunction');
  const ours = [];
  let lastModule;
  for (const e of xs) {
    const url = urlOf(e);
    if (e.name === 'v8.compileModule') lastModule = url;
    if (((e.name === 'EvaluateScript' || e.name === 'v8.compile' || e.name === 'v8.compileModule') && url === scriptUrl) ||
        (e.name === 'v8.evaluateModule' && lastModule === scriptUrl && (e.args?.worldId ?? 0) === 0) ||
        /^(v8\.)?wasm\./.test(e.name)) {
      ours.push(e);
    } else if (e.name === 'FunctionCall' && url === scriptUrl) {
      // The innermost v8.callFunction around it also holds the microtasks it left.
      let call;
      for (const c of calls) if (c.ts <= e.ts && inside(e, c) && (!call || inside(c, call))) call = c;
      ours.push(call ?? e);
    }
  }
  // A microtask checkpoint outside every script entry point runs promise
  // reactions to the browser's own work (a fetch, a stream, a compile).
  const entries = xs.filter((e) => /^(v8\.callFunction|EvaluateScript|v8\.evaluateModule)$/.test(e.name));
  const orphans = { wall: 0, cpu: 0 };
  for (const m of xs) {
    if (m.name !== 'RunMicrotasks') continue;
    if (ours.some((o) => inside(o, m))) ours.push(m);
    else if (!entries.some((c) => inside(m, c))) {
      orphans.wall += m.dur / 1000;
      orphans.cpu += (m.tdur ?? 0) / 1000;
      if (orphanMicrotasks) ours.push(m);
    }
  }
  const tasks = xs.filter((e) => e.name === 'RunTask');
  const byTask = new Map();
  for (const o of ours) {
    const t = tasks.find((t) => inside(o, t)) ?? o; // outside any task: a task of its own
    if (!byTask.has(t)) byTask.set(t, []);
    byTask.get(t).push(o);
  }
  const wall = { totalMs: 0, longestMs: 0 };
  const cpu = { totalMs: 0, longestMs: 0 };
  const slices = [];
  for (const [task, slice] of byTask) {
    const w = unionMs(slice.map((o) => [o.ts, o.ts + o.dur]));
    const c = unionMs(slice.filter((o) => o.tdur !== undefined).map((o) => [o.tts, o.tts + o.tdur]));
    wall.totalMs += w;
    wall.longestMs = Math.max(wall.longestMs, w);
    cpu.totalMs += c;
    cpu.longestMs = Math.max(cpu.longestMs, c);
    slices.push({ ts: task.ts, wallMs: w, cpuMs: c, taskMs: task.dur / 1000, what: slice.map((o) => o.name) });
  }
  return { wall, cpu, tasks: byTask.size, orphans, slices };
}

/** Length of the union of [start, end] intervals (trace µs), in ms. */
function unionMs(spans) {
  if (spans.length === 0) return 0;
  spans.sort((a, b) => a[0] - b[0]);
  let n = 0;
  let [s, end] = spans[0];
  for (const [a, b] of spans.slice(1)) {
    if (a > end) {
      n += end - s;
      [s, end] = [a, b];
    } else if (b > end) end = b;
  }
  return (n + end - s) / 1000;
}

// Where an error or a long frame comes from, under the current semantic
// conventions' names (1.30+: code.file.path, code.line.number,
// code.column.number, code.function.name), never the deprecated ones
// (code.filepath, code.lineno, code.column, code.function). The expected
// values are what the browser itself reports to the page (ErrorEvent,
// PerformanceObserver), for generated scripts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inBothBrowsers, launchChromium, sdkSite, type AnyPage } from '../helpers/browser.js';
import { startCollector } from '../helpers/collector.js';
import { attrs, type FlatSpan } from '../helpers/otlp.js';

const DEPRECATED = ['code.filepath', 'code.lineno', 'code.column', 'code.function'];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

/** Scripts that each throw from a timer at a generated line and column. */
function throwers(seed: number, n: number): Record<string, string> {
  const r = rng(seed);
  const files: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    const pad = '\n'.repeat(Math.floor(r() * 40));
    const indent = ' '.repeat(Math.floor(r() * 30));
    files[`/throw-${i}.js`] = `${pad}setTimeout(() => {\n${indent}throw new TypeError('generated ${i}');\n}, ${i * 10});\n`;
  }
  return files;
}

const INIT = `async (endpoint) => {
  const { init } = await import('/browser.js');
  window.seen = [];
  addEventListener('error', (e) => seen.push({ message: e.message, filename: e.filename, lineno: e.lineno, colno: e.colno }));
  return init({ serviceName: 'code-e2e', endpoint, wasm: '/wasmtrace.wasm', compression: 'none', scheduledDelayMs: 100,
    instrumentations: { webVitals: false, interactions: false, documentLoad: false, resources: false } });
}`;

const load = (files: string[]): string => `Promise.all(${JSON.stringify(files)}.map((src) => new Promise((r) => {
  const s = document.createElement('script'); s.src = src; s.onload = r; document.head.append(s);
})))`;

async function errorsCarryCode(newPage: () => Promise<AnyPage>): Promise<void> {
  const files = throwers(2417, 12);
  const site = await sdkSite('code', files);
  const c = await startCollector({ cors: { origins: [site.origin] } });
  try {
    const page = await newPage();
    await page.goto(site.url);
    await page.evaluate(`(${INIT})(${JSON.stringify(c.url)})`);
    await page.evaluate(load(Object.keys(files)));
    await c.waitFor(() => c.spans().filter((s) => s.name === 'error').length === 12, 10_000);
    const seen = (await page.evaluate('seen')) as Array<{ message: string; filename: string; lineno: number; colno: number }>;
    assert.equal(seen.length, 12);
    for (const s of c.spans().filter((x) => x.name === 'error')) {
      const a = attrs(s.attributes);
      const message = attrs(s.events[0]?.attributes ?? [])['exception.message'];
      const want = seen.find((e) => e.message.endsWith(String(message)));
      assert.ok(want, `an ErrorEvent for ${String(message)}`);
      assert.deepEqual({ path: a['code.file.path'], line: Number(a['code.line.number']), column: Number(a['code.column.number']) },
        { path: want.filename, line: want.lineno, column: want.colno }, String(message));
      for (const k of DEPRECATED) assert.equal(a[k], undefined, `${k} is not sent`);
      assert.ok(s.attributes.filter((kv) => kv.key !== 'code.file.path' && kv.key.startsWith('code.')).every((kv) => 'intValue' in kv.value), 'line and column are ints');
    }
  } finally {
    await c.close();
    await site.close();
  }
}

inBothBrowsers('uncaught errors carry code.file.path, code.line.number, code.column.number (12 generated scripts)', errorsCarryCode);

/**
 * Scripts, each loaded with a query, that throw from a timer in code of their
 * own, in code they run through eval and new Function, and in a script
 * element's text they insert: Firefox names the last three after the script
 * (or page) that ran them, `…/ev-0.js?v=… line 3 > eval`.
 */
function evaluators(seed: number, n: number): Record<string, string> {
  const r = rng(seed);
  const files: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    const tag = `${i}-${Math.floor(r() * 1e6)}`;
    files[`/ev-${i}.js`] = `${'\n'.repeat(Math.floor(r() * 5))}setTimeout(() => { throw new Error('own ${tag}'); }, 0);
setTimeout(() => eval("${'\\n'.repeat(Math.floor(r() * 3))}throw new Error('eval ${tag}')"), 5);
setTimeout(() => new Function("throw new Error('function ${tag}')")(), 10);
setTimeout(() => { const s = document.createElement('script'); s.textContent = "throw new Error('text ${tag}')"; document.head.append(s); }, 15);
`;
  }
  return files;
}

async function evalErrorsCarryFile(newPage: () => Promise<AnyPage>, redact: boolean): Promise<void> {
  const files = evaluators(redact ? 733 : 377, 3);
  const site = await sdkSite('eval', files);
  const c = await startCollector({ cors: { origins: [site.origin] } });
  try {
    const page = await newPage();
    await page.goto(`${site.url}?v=page-secret`);
    await page.evaluate(`(${INIT.replace("compression: 'none',", `compression: 'none', redactQuery: ${redact ? "['v']" : 'false'},`)})(${JSON.stringify(c.url)})`);
    await page.evaluate(load(Object.keys(files).map((f) => `${f}?v=secret-${f.slice(4, -3)}`)));
    const n = Object.keys(files).length * 4;
    await c.waitFor(() => c.spans().filter((s) => s.name === 'error').length === n, 10_000);
    const seen = (await page.evaluate('seen')) as Array<{ message: string; filename: string; lineno: number; colno: number }>;
    assert.equal(seen.length, n);
    for (const s of c.spans().filter((x) => x.name === 'error')) {
      const a = attrs(s.attributes);
      const message = String(attrs(s.events[0]?.attributes ?? [])['exception.message']);
      const want = seen.find((e) => e.message.endsWith(message));
      assert.ok(want, `an ErrorEvent for ${message}`);
      // The browser's own name for where it ran, its URL's v redacted when asked: the rest (' line 3 > eval') as it is.
      const path = want.filename ? (redact ? want.filename.replace(/\?v=[^ ]*/, '?v=REDACTED') : want.filename) : undefined;
      assert.deepEqual({ path: a['code.file.path'], line: Number(a['code.line.number']), column: Number(a['code.column.number']) },
        { path, line: want.lineno, column: want.colno }, message);
      if (redact) assert.ok(!String(a['code.file.path']).includes('secret'), `${message}: ${a['code.file.path']}`);
    }
  } finally {
    await c.close();
    await site.close();
  }
}

inBothBrowsers('errors from eval, new Function and a script\'s text carry the browser\'s filename as code.file.path (scripts with a query, 3 generated)', (p) => evalErrorsCarryFile(p, false));
inBothBrowsers('… and with redactQuery its URL is redacted, the rest kept (3 generated)', (p) => evalErrorsCarryFile(p, true));

test('Chromium: long animation frames carry code.file.path and code.function.name of their longest script', async (t) => {
  // Each script blocks the main thread in a function of a generated name, in a frame of its own.
  const r = rng(91);
  const names = Array.from({ length: 4 }, (_, i) => `busy_${i}_${Math.floor(r() * 1e6)}`);
  const files = Object.fromEntries(names.map((n, i) => [`/${n}.js`,
    `function ${n}() { const t = performance.now(); while (performance.now() - t < ${90 + Math.floor(r() * 40)}); }\nsetTimeout(${n}, ${i * 200});\n`]));
  const site = await sdkSite('loaf', files);
  const c = await startCollector({ cors: { origins: [site.origin] } });
  const browser = await launchChromium();
  t.after(async () => {
    await browser.close();
    await c.close();
    await site.close();
  });
  const page = await browser.newPage();
  await page.goto(site.url);
  await page.evaluate(`(${INIT})(${JSON.stringify(c.url)})`);
  await page.evaluate(`window.frames_ = []; new PerformanceObserver((l) => frames_.push(...l.getEntries().map((e) => e.toJSON()))).observe({ type: 'long-animation-frame' })`);
  await page.evaluate(load(Object.keys(files)));
  const ours = (s: FlatSpan): boolean => names.some((n) => attrs(s.attributes)['code.function.name'] === n);
  await c.waitFor(() => c.spans().filter((s) => s.name === 'longAnimationFrame' && ours(s)).length === names.length, 10_000);
  const frames = (await page.evaluate('frames_')) as Array<{ scripts: Array<{ sourceURL: string; sourceFunctionName: string }> }>;
  for (const n of names) {
    const s = c.spans().find((x) => x.name === 'longAnimationFrame' && attrs(x.attributes)['code.function.name'] === n)!;
    const script = frames.flatMap((f) => f.scripts).find((x) => x.sourceFunctionName === n);
    assert.ok(script, `the browser reported ${n}`);
    assert.equal(attrs(s.attributes)['code.file.path'], script.sourceURL);
    for (const k of DEPRECATED) assert.equal(attrs(s.attributes)[k], undefined, `${k} is not sent`);
  }
});

// `npm run size`: minified, gzip (level 9) and brotli (quality 11) bytes of
// wasmtrace's builds and of its rivals, bundled the same way with esbuild
// (bundle, minify, ESM, `mangleProps: /^_/`, es2022; `process.env.NODE_ENV`
// = "production"). JS and Wasm are separate files on the wire, so each is
// compressed on its own and the sizes added. Prints one table and writes
// bench/results/size-latest.json plus a dated copy. A wasmtrace target whose
// source is not there yet prints as "pending"; a rival that fails to bundle
// is an error (exit code 1).
//
//   node bench/size.mjs            everything
//   node bench/size.mjs --smoke    the same (sizes are cheap), without writing results
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { builtinModules } from 'node:module';
import * as esbuild from 'esbuild';
import { single } from './lib/figure.mjs';
import { machine, packageVersions } from './lib/machine.mjs';
import { dist, root } from './lib/paths.mjs';
import { writeResult } from './lib/results.mjs';
import { machineLine } from './lib/table.mjs';

const sizes = new URL('sizes/', import.meta.url);
const p = (u) => fileURLToPath(u);

/** Issue 2: core (JS + protobuf Wasm) at most 6 KB brotli. */
export const CORE_BROTLI_BUDGET = 6 * 1024;

/**
 * The issues' size targets, each beside its floor: what the bundle cannot
 * be smaller than while it keeps the Wasm hot path and the tracer API (and,
 * for the browser, the web-vitals attribution build the issue asks for).
 * A floor is those parts bundled on their own, with nothing else.
 */
const FLOORS = [
  { key: 'core', issue: 2, target: CORE_BROTLI_BUDGET, entry: 'floor-tracer.mjs', parts: 'Wasm + tracer API' },
  { key: 'browser', issue: 4, target: 12 * 1024, entry: 'floor-browser.mjs', parts: 'Wasm + tracer API + web-vitals/attribution' },
  { key: 'worker', issue: 5, target: 8 * 1024, entry: 'floor-tracer.mjs', parts: 'Wasm + tracer API' },
];

export function measure(bytes) {
  return {
    min: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
    brotli: brotliCompressSync(bytes, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
    }).length,
  };
}
const add = (a, b) => ({ min: a.min + b.min, gzip: a.gzip + b.gzip, brotli: a.brotli + b.brotli });

// Bundled as wrangler does for Workers: neutral platform, the workerd conditions,
// and node:* / cloudflare:* left to the runtime (nodejs_compat).
const WORKER = {
  platform: 'neutral',
  conditions: ['workerd', 'worker', 'browser'],
  mainFields: ['browser', 'module', 'main'],
  external: ['node:*', 'cloudflare:*', ...builtinModules],
};

// otel-cf-workers 1.0.0-rc.52 imports ATTR_FAAS_TIME from
// @opentelemetry/semantic-conventions/incubating, which npm resolves to a
// release (1.45) that no longer exports it, so no bundler can build it as
// installed. The shim adds that one string constant back (a few bytes).
const semconvShim = {
  name: 'semconv-faas-time',
  setup(build) {
    build.onLoad({ filter: /semantic-conventions[\\/]dist[\\/]index-incubating\.mjs$/ }, ({ path }) => {
      const text = readFileSync(path, 'utf8');
      const add = /\bATTR_FAAS_TIME\b/.test(text) ? '' : '\nexport const ATTR_FAAS_TIME = "faas.time";\n';
      return { contents: text + add, loader: 'js' };
    });
  },
};

async function bundle(entry, extra = {}) {
  const r = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    mangleProps: /^_/,
    define: { 'process.env.NODE_ENV': '"production"' },
    write: false,
    logLevel: 'silent',
    ...extra,
  });
  return r.outputFiles[0].contents;
}

const v = (...names) => {
  const all = packageVersions(names);
  return names.map((n) => `${n.replace(/^@[^/]+\//, '')} ${all[n]}`).join(', ');
};

/** wasmtrace's targets: `{ key, label, vs, build() → sizes | { pending } }`. */
const ours = [
  {
    key: 'core', label: 'wasmtrace core (init + tracer + protobuf wasm)', vs: 'otel-core',
    async build() {
      const js = measure(await bundle(p(new URL('wasmtrace-core.mjs', sizes))));
      return { ...add(js, measure(readFileSync(new URL('wasmtrace.wasm', dist)))), parts: { js } };
    },
  },
  {
    key: 'browser', label: 'wasmtrace full browser (dist/wasmtrace.js + wasm)', vs: 'otel-full',
    async build() {
      const file = new URL('wasmtrace.js', dist);
      if (!existsSync(file)) return { pending: 'dist/wasmtrace.js (script-tag build) not built yet' };
      const text = readFileSync(file, 'utf8');
      const js = measure(await bundle(p(file), { format: 'iife' }));
      // The script-tag build either loads wasmtrace.wasm beside it or carries it inline.
      if (!/wasmtrace\.wasm/.test(text)) return { ...js, parts: { js, wasm: 'inline' } };
      return { ...add(js, measure(readFileSync(new URL('wasmtrace.wasm', dist)))), parts: { js } };
    },
  },
  {
    key: 'worker', label: 'wasmtrace worker (wasmtrace/worker + wasm)', vs: 'otel-cf-workers',
    async build() {
      if (!existsSync(new URL('worker/index.ts', root))) return { pending: 'worker/index.ts not there yet' };
      const js = measure(await bundle(p(new URL('wasmtrace-worker.mjs', sizes)), { ...WORKER, external: [...WORKER.external, '*.wasm'] }));
      return { ...add(js, measure(readFileSync(new URL('wasmtrace.wasm', dist)))), parts: { js } };
    },
  },
  {
    key: 'wasi', label: 'wasmtrace WASI library (share of a WASI program)', vs: null,
    async build() {
      if (!existsSync(new URL('assembly/index.ts', root))) return { pending: 'assembly/index.ts not there yet' };
      const dir = mkdtempSync(join(tmpdir(), 'wasmtrace-size-'));
      try {
        const asc = p(new URL('node_modules/.bin/asc', root));
        const wasm = (name) => {
          const out = join(dir, `${name}.wasm`);
          // The demo job's WASI options (scripts/build.mjs).
          execFileSync(asc, [p(new URL(`${name}.ts`, sizes)), '--config', 'asconfig.json', '--target', 'release', '-o', out,
            '--runtime', 'incremental', '--exportStart', '_start', '--initialMemory', '24', '--maximumMemory', '64'],
            { cwd: p(root), stdio: ['ignore', 'ignore', 'pipe'] });
          return measure(readFileSync(out));
        };
        const lib = wasm('wasi-lib');
        const base = wasm('wasi-empty');
        return { min: lib.min - base.min, gzip: lib.gzip - base.gzip, brotli: lib.brotli - base.brotli, parts: { program: lib, baseline: base } };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  },
];

/** Rivals: `{ key, label, entries }`; with several entries the smallest (brotli) counts. */
const rivals = [
  { key: 'otel-core', label: `OTel web core: WebTracerProvider + BatchSpanProcessor + OTLP exporter`, entries: [
    { file: 'otel-core-proto.mjs', what: v('@opentelemetry/sdk-trace-web', '@opentelemetry/exporter-trace-otlp-proto') },
    { file: 'otel-core-http.mjs', what: v('@opentelemetry/sdk-trace-web', '@opentelemetry/exporter-trace-otlp-http') },
  ] },
  { key: 'otel-full', label: 'OTel web full: core + fetch, xhr, document-load, user-interaction + ZoneContextManager', entries: [
    { file: 'otel-full.mjs', what: v('@opentelemetry/sdk-trace-web', '@opentelemetry/instrumentation-fetch', '@opentelemetry/instrumentation-document-load', '@opentelemetry/context-zone', 'zone.js') },
  ] },
  { key: 'faro', label: 'Grafana Faro: web-sdk + web-tracing', entries: [{ file: 'faro.mjs', what: v('@grafana/faro-web-sdk', '@grafana/faro-web-tracing') }] },
  { key: 'sentry', label: 'Sentry browser + browserTracingIntegration', entries: [{ file: 'sentry.mjs', what: v('@sentry/browser') }] },
  { key: 'elastic', label: 'Elastic APM RUM', entries: [{ file: 'elastic.mjs', what: v('@elastic/apm-rum') }] },
  { key: 'otel-cf-workers', label: 'otel-cf-workers (worker build)', entries: [{ file: 'otel-cf-workers.mjs', what: v('@microlabs/otel-cf-workers'), options: { ...WORKER, plugins: [semconvShim] } }] },
];

export async function sizeReport() {
  const rows = {};
  let errors = 0;
  for (const r of rivals) {
    try {
      let best;
      for (const e of r.entries) {
        const s = measure(await bundle(p(new URL(e.file, sizes)), e.options ?? {}));
        const row = { ...s, entry: `bench/sizes/${e.file}`, what: e.what };
        if (!best || row.brotli < best.brotli) best = row;
        if (r.entries.length > 1) rows[`${r.key} (${e.file.replace(/\.mjs$/, '')})`] = { label: `  ${e.file}`, ...row, variant: true };
      }
      rows[r.key] = { label: r.label, ...best, rival: true };
    } catch (e) {
      errors++;
      rows[r.key] = { label: r.label, error: e instanceof Error ? e.message : String(e), rival: true };
    }
  }
  for (const o of ours) {
    try {
      rows[o.key] = { label: o.label, vs: o.vs, ...(await o.build()) };
    } catch (e) {
      errors++;
      rows[o.key] = { label: o.label, vs: o.vs, error: e instanceof Error ? e.message : String(e) };
    }
  }
  return { rows, errors, floors: await floorReport(rows) };
}

/** Each size target with its floor (FLOORS) and the bundle as built. */
async function floorReport(rows) {
  const wasm = measure(readFileSync(new URL('wasmtrace.wasm', dist)));
  const out = [];
  for (const f of FLOORS) {
    const js = measure(await bundle(p(new URL(f.entry, sizes))));
    out.push({ key: f.key, issue: f.issue, parts: f.parts, target: f.target, floor: js.brotli + wasm.brotli, js: js.brotli, wasm: wasm.brotli, built: rows[f.key]?.brotli });
  }
  return out;
}

export function floorTable(floors) {
  const lines = floors.map((f) =>
    `${f.key.padEnd(8)} issue ${f.issue}: target ${kb(f.target).padStart(6)} B; floor ${kb(f.floor).padStart(6)} B (${f.parts}: ` +
    `JS ${kb(f.js)} + Wasm ${kb(f.wasm)}); built ${kb(f.built)} B`);
  return ['brotli bytes: each target beside the least its bundle can be (bench/sizes/floor-*.mjs)', ...lines].join('\n');
}

/** Figures (the bench shape) comparing each wasmtrace target with its rival. */
export function sizeFigures(rows) {
  const figures = [];
  for (const o of ours) {
    const me = rows[o.key];
    if (!me || me.pending || me.error) continue;
    const them = o.vs ? rows[o.vs] : null;
    for (const level of ['min', 'gzip', 'brotli']) {
      figures.push(single({
        name: `${o.key} size, ${level}`, unit: 'B', wasmtrace: me[level],
        rival: them && !them.error ? them[level] : undefined, rivalName: them?.label,
      }));
    }
  }
  return figures;
}

const kb = (n) => (n === undefined ? '' : n.toLocaleString('en-US'));

export function sizeTable(rows) {
  const head = ['target', 'min B', 'gzip B', 'brotli B', 'vs', 'brotli ratio'];
  const lines = [head];
  const order = [...ours.map((o) => o.key), ...Object.keys(rows).filter((k) => !ours.some((o) => o.key === k))];
  for (const k of order) {
    const r = rows[k];
    if (!r) continue;
    if (r.pending) lines.push([r.label, 'pending', '', '', '', r.pending]);
    else if (r.error) lines.push([r.label, 'ERROR', '', '', '', r.error.split('\n')[0]]);
    else {
      const them = r.vs ? rows[r.vs] : null;
      const ratio = them && !them.error ? `${(them.brotli / r.brotli).toFixed(1)}x smaller` : '';
      lines.push([r.label, kb(r.min), kb(r.gzip), kb(r.brotli), r.vs ?? '', ratio]);
    }
  }
  const w = head.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  const right = new Set([1, 2, 3]);
  const fmt = (l) => l.map((c, i) => (right.has(i) ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ').trimEnd();
  return [fmt(head), w.map((n) => '-'.repeat(n)).join('  '), ...lines.slice(1).map(fmt)].join('\n');
}

/** For the bench runner's smoke test: the size figures, as a bench module would return them. */
export async function run() {
  const { rows, errors } = await sizeReport();
  if (errors) throw new Error(Object.values(rows).filter((r) => r.error).map((r) => `${r.label}: ${r.error}`).join('; '));
  return sizeFigures(rows);
}

async function main() {
  const smoke = process.argv.includes('--smoke');
  const { rows, errors, floors } = await sizeReport();
  const m = machine();
  console.log(`\n${machineLine(m)}\n`);
  console.log(sizeTable(rows));
  console.log(`\n${floorTable(floors)}`);
  const core = rows.core;
  if (core && !core.pending && !core.error) {
    const ok = core.brotli <= CORE_BROTLI_BUDGET;
    console.log(`\ncore budget (issue 2): ${kb(core.brotli)} B brotli of ${kb(CORE_BROTLI_BUDGET)} B — ${ok ? 'within' : 'OVER'}` +
      ` (JS ${kb(core.parts.js.brotli)} B + wasm ${kb(core.brotli - core.parts.js.brotli)} B)`);
  }
  if (!smoke) {
    const paths = writeResult('size', { machine: m, rows, figures: sizeFigures(rows), budgets: { coreBrotli: CORE_BROTLI_BUDGET }, floors });
    console.log(`\nwrote ${paths.join(' and ')}`);
  }
  if (errors) {
    console.error(`\n[size] ${errors} target(s) failed to bundle`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();

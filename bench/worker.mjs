// wasmtrace/worker against @microlabs/otel-cf-workers:
// - bundle size: a minimal instrumented worker, esbuild-minified, brotli, with the Wasm;
// - CPU time added per request in real workerd: the workerd process's own CPU
//   time (/proc/<pid>/stat) over many requests, for an uninstrumented worker,
//   the same worker with wasmtrace, and with the rival, in interleaved rounds.
//   Both SDKs export to a node:http collector on 127.0.0.1: the rival once per
//   request; wasmtrace once per 100 ms window (requests back to back share
//   exports), and once per request with the window off (scheduledDelayMs: 0).
import { mkdirSync, readFileSync, writeFileSync, copyFileSync, rmSync, readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { brotliCompressSync, constants } from 'node:zlib';
import * as esbuild from 'esbuild';
import { Miniflare } from 'miniflare';
import { figure, single } from './lib/figure.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const RIVAL = `@microlabs/otel-cf-workers ${JSON.parse(readFileSync(join(root, 'node_modules/@microlabs/otel-cf-workers/package.json'), 'utf8')).version}`;

const brotli = (b) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;

const APP = `
  fetch(request) {
    return new Response('hello ' + new URL(request.url).pathname);
  },`;

const sources = {
  plain: `export default {${APP}\n};\n`,
  wasmtrace: `import { instrument } from 'wasmtrace/worker';
export default instrument({${APP}\n}, (env) => ({ serviceName: 'bench', endpoint: env.ENDPOINT }));\n`,
  // The same with no export window: each request's span leaves in its own
  // export, as in an isolate that serves one request at a time.
  each: `import { instrument } from 'wasmtrace/worker';
export default instrument({${APP}\n}, (env) => ({ serviceName: 'bench', endpoint: env.ENDPOINT, scheduledDelayMs: 0 }));\n`,
  rival: `import { instrument } from '@microlabs/otel-cf-workers';
export default instrument({${APP}\n}, (env) => ({ service: { name: 'bench' }, exporter: { url: env.ENDPOINT } }));\n`,
};

// The rival's dist imports ATTR_FAAS_TIME, which the semantic-conventions it
// installs (1.45) no longer exports: supply that one string so it bundles.
const rivalShim = {
  name: 'rival-semconv-shim',
  setup(build) {
    build.onResolve({ filter: /^@opentelemetry\/semantic-conventions\/incubating$/ }, (args) =>
      args.namespace === 'file' && args.importer.includes('otel-cf-workers/dist') ? { path: args.importer, namespace: 'semconv-shim' } : undefined);
    build.onLoad({ filter: /.*/, namespace: 'semconv-shim' }, (args) => ({
      contents: `export * from '@opentelemetry/semantic-conventions/incubating';\nexport const ATTR_FAAS_TIME = 'faas.time';\n`,
      resolveDir: dirname(args.path),
    }));
  },
};

/** Bundles each variant like wrangler would (esbuild, minified, .wasm kept as a module). */
async function bundle(dir) {
  const out = {};
  for (const [name, code] of Object.entries(sources)) {
    const entry = join(dir, `${name}.src.mjs`);
    writeFileSync(entry, code);
    const file = join(dir, `${name}.mjs`);
    await esbuild.build({
      entryPoints: [entry], outfile: file, bundle: true, minify: true, format: 'esm', platform: 'browser',
      target: 'es2022', conditions: ['workerd', 'worker', 'browser'], mainFields: ['browser', 'module', 'main'],
      external: ['node:*', 'cloudflare:*', '*.wasm'], alias: { 'wasmtrace/worker': join(root, 'dist/worker.js') },
      logLevel: 'error', nodePaths: [join(root, 'node_modules')], plugins: [rivalShim],
    });
    out[name] = file;
  }
  copyFileSync(join(root, 'dist/wasmtrace.wasm'), join(dir, 'wasmtrace.wasm'));
  return out;
}

function sizeFigures(files, dir) {
  const wasm = readFileSync(join(dir, 'wasmtrace.wasm'));
  const ours = readFileSync(files.wasmtrace);
  const plain = readFileSync(files.plain);
  const rival = readFileSync(files.rival);
  // The app's own few bytes are taken off both sides.
  const wt = brotli(ours) - brotli(plain) + brotli(wasm);
  const rv = brotli(rival) - brotli(plain);
  return [
    single({ name: 'worker bundle, brotli (JS + Wasm)', unit: 'bytes', wasmtrace: wt, rival: rv, rivalName: RIVAL, note: `esbuild minified; JS ${ours.length} B (${brotli(ours)} B br) + Wasm ${wasm.length} B (${brotli(wasm)} B br); rival ${rival.length} B minified` }),
    single({ name: 'worker bundle, minified (JS + Wasm)', unit: 'bytes', wasmtrace: ours.length - plain.length + wasm.length, rival: rival.length - plain.length, rivalName: RIVAL }),
  ];
}

/** utime + stime of a process, in ms (clock ticks of 10 ms). */
function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

function workerdPid() {
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (cmd.includes('workerd') && ppid === process.pid) return Number(p);
    } catch {
      // gone
    }
  }
  throw new Error('workerd process not found');
}

export async function run({ smoke = false } = {}) {
  const dir = join(tmpdir(), `wasmtrace-bench-worker-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const figures = [];
  let received = 0;
  const collector = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.end();
    });
  });
  await new Promise((r) => collector.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${collector.address().port}/v1/traces`;
  let mf;
  try {
    const files = await bundle(dir);
    figures.push(...sizeFigures(files, dir));

    const names = ['plain', 'wasmtrace', 'each', 'rival'];
    mf = new Miniflare({
      workers: names.map((name) => ({
        name, routes: [`${name}.bench/*`], modules: true, scriptPath: files[name], modulesRoot: dir,
        modulesRules: [{ type: 'ESModule', include: ['**/*.mjs'] }, { type: 'CompiledWasm', include: ['**/*.wasm'] }],
        compatibilityDate: '2025-09-01', compatibilityFlags: name === 'rival' ? ['nodejs_compat'] : [],
        bindings: { ENDPOINT: endpoint },
      })),
    });
    await mf.ready;
    const pid = workerdPid();
    const requests = smoke ? 50 : 1500;
    const rounds = smoke ? 1 : 7;
    const round = async (name) => {
      const c0 = cpuMs(pid);
      for (let i = 0; i < requests; i++) {
        const res = await mf.dispatchFetch(`http://${name}.bench/p${i}`);
        await res.arrayBuffer();
      }
      // Let the waitUntil exports finish inside the measured window.
      await new Promise((r) => setTimeout(r, 100));
      return ((cpuMs(pid) - c0) * 1000) / requests; // µs per request
    };
    for (const name of names) await round(name); // warm-up
    const per = Object.fromEntries(names.map((n) => [n, []]));
    for (let r = 0; r < rounds; r++) for (const name of r % 2 ? [...names].reverse() : names) per[name].push(await round(name));
    const added = (name) => per[name].map((v, i) => Math.max(v - per.plain[i], 1));
    figures.push(
      figure({
        name: 'workerd CPU added per request (vs uninstrumented)', unit: 'µs/request', ours: added('wasmtrace'), theirs: added('rival'), rivalName: RIVAL,
        note: `requests back to back, default settings (the spans of requests that end within 100 ms share an export); workerd process CPU (/proc, 10 ms ticks) over ${requests} requests x ${rounds} rounds, export to 127.0.0.1 included; floor 1 µs`,
      }),
      figure({
        name: 'workerd CPU added per request, each exported on its own (vs uninstrumented)', unit: 'µs/request', ours: added('each'), theirs: added('rival'), rivalName: RIVAL,
        note: 'wasmtrace with scheduledDelayMs: 0, one export per request: the cost when no other request ends within the window; same rounds',
      }),
      figure({ name: 'workerd CPU per request, uninstrumented', unit: 'µs/request', ours: per.plain, note: 'the baseline: miniflare entry + the handler' }),
    );
    if (received === 0) throw new Error('no export reached the collector');
  } finally {
    await mf?.dispose();
    collector.closeAllConnections();
    collector.close();
    if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true });
  }
  for (const f of figures) console.log(`${f.name}: ${fmt(f.wasmtrace)} ${f.unit}${f.rival !== undefined ? ` | ${f.rivalName}: ${fmt(f.rival)} | ratio ${fmt(f.ratio)}x` : ''}${f.spread ? ` | spread ${JSON.stringify(Object.fromEntries(Object.entries(f.spread).map(([k, v]) => [k, Math.round(v)])))}%` : ''}`);
  return figures;
}

const fmt = (v) => (v >= 100 ? Math.round(v) : Number(v.toPrecision(3)));

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await run({ smoke: process.argv.includes('--smoke') });
}

// WASI figures: the size of the demo job and the library's share of it, and
// spans per second encoded and sent under node:wasi (through the WasmEdge
// socket shim) next to the same spans through the TypeScript API in Node.
//
//   node bench/wasi.mjs            full run
//   node bench/wasi.mjs --smoke    tiny counts (the suite runner's check)
//
// Needs `node scripts/build.mjs` first (dist/demo-wasi*.wasm, dist/node.js).
import { figure, median, single } from './lib/figure.mjs';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { runWasi } from '../demo/wasi-job/host.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

/** Spans the demo job makes for `orders` orders (see demo/wasi-job/job.ts). */
export function spansFor(orders) {
  let n = 1;
  for (let o = 0; o < orders; o++) n += 4 + (o % 6);
  return n;
}

function sizes() {
  const dir = mkdtempSync(join(tmpdir(), 'wasmtrace-bare-'));
  try {
    const bare = join(dir, 'bare.wasm');
    execFileSync(join(root, 'node_modules', '.bin', 'asc'), [
      'demo/wasi-job/bare.ts', '--config', 'asconfig.json', '--target', 'release', '-o', bare,
      '--runtime', 'incremental', '--exportStart', '_start', '--initialMemory', '24', '--maximumMemory', '64',
    ], { cwd: root, stdio: 'inherit' });
    const size = (f) => {
      const b = readFileSync(f);
      return { bytes: b.length, gzipBytes: gzipSync(b, { level: 9 }).length };
    };
    const demo = size(join(dist, 'demo-wasi.wasm'));
    const lines = size(join(dist, 'demo-wasi-lines.wasm'));
    const base = size(bare);
    return {
      demo, demoLines: lines, bareJob: base,
      libraryShare: { bytes: demo.bytes - base.bytes, gzipBytes: demo.gzipBytes - base.gzipBytes },
      libraryShareLines: { bytes: lines.bytes - base.bytes, gzipBytes: lines.gzipBytes - base.gzipBytes },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A collector stand-in: reads each body, counts bytes, answers 200. */
async function sink() {
  let requests = 0;
  let bytes = 0;
  const server = createServer((req, res) => {
    req.on('data', (c) => { bytes += c.length; });
    req.on('end', () => {
      requests++;
      res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/x-protobuf' });
      res.end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  return {
    origin: `http://127.0.0.1:${port}`,
    stats: () => ({ requests, bytes }),
    reset: () => { requests = 0; bytes = 0; },
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  };
}

async function wasiRun(origin, orders) {
  const t0 = performance.now();
  const r = await runWasi({
    wasm: join(dist, 'demo-wasi.wasm'),
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: origin, ORDERS: String(orders) },
  });
  const ms = performance.now() - t0;
  if (r.exitCode !== 0) throw new Error(`demo job failed: ${r.stderr}`);
  return ms;
}

/** The demo job's spans, attributes and statuses through the TypeScript API. */
async function tsRun(origin, orders) {
  const { init, SpanKind, SpanStatusCode } = await import(pathToFileURL(join(dist, 'node.js')).href);
  const PRICES = [12.5, 3.99, 27.0, 8.25, 119.0, 0.99];
  const NAMES = ['mug', 'tea', 'kettle', 'filter', 'grinder', 'spoon'];
  const tracer = await init({ serviceName: 'pricing-job', endpoint: `${origin}/v1/traces`, env: {}, compression: 'none', storage: null });
  const t0 = performance.now(); // after init: the WASI figure likewise leaves out start-up
  await tracer.startActiveSpan('pricing-job', { kind: SpanKind.CONSUMER }, async (job) => {
    job.setAttribute('job.orders', orders);
    let sum = 0;
    for (let o = 0; o < orders; o++) {
      // Its delivery is asynchronous: let it drain the pool now and then.
      if (o % 10 === 9) await new Promise((r) => setImmediate(r));
      sum += tracer.startActiveSpan('price-order', (span) => {
        const items = 1 + (o % 6);
        span.setAttribute('order.id', `ord-${o}`);
        span.setAttribute('order.items', items);
        let subtotal = 0;
        for (let k = 0; k < items; k++) {
          const i = (o * 7 + k) % PRICES.length;
          tracer.startActiveSpan('catalog.lookup', { kind: SpanKind.CLIENT }, (s) => {
            s.setAttribute('catalog.item', NAMES[i]);
            s.setAttribute('catalog.price', PRICES[i]);
            s.end();
          });
          subtotal += PRICES[i];
        }
        const rate = subtotal > 100 ? 0.1 : 0;
        tracer.startActiveSpan('apply-discount', (d) => {
          d.setAttribute('discount.rate', rate);
          d.setAttribute('discount.applied', rate > 0);
          if (rate > 0) d.addEvent('discount.applied', { 'discount.code': 'BULK10' });
          d.end();
        });
        const total = Math.round(subtotal * (1 - rate) * 1.2 * 100) / 100;
        tracer.startActiveSpan('add-tax', (t) => {
          t.setAttribute('tax.rate', 0.2);
          t.setAttribute('tax.regions', ['EU', 'FR']);
          t.end();
        });
        if (items > 4) {
          span.recordException({ name: 'ShippingError', message: 'too many items for express shipping' });
          span.setStatus({ code: SpanStatusCode.ERROR, message: 'express shipping refused' });
        } else {
          span.setStatus({ code: SpanStatusCode.OK });
        }
        span.setAttribute('order.total', total);
        span.end();
        return total;
      });
    }
    job.setAttribute('job.revenue', Math.round(sum * 100) / 100);
    job.end();
  });
  const result = await tracer.shutdown();
  return { ms: performance.now() - t0, result };
}


export async function run({ smoke = false } = {}) {
  const orders = smoke ? 20 : 4000;
  const rounds = smoke ? 1 : 5;
  const spans = spansFor(orders);
  const size = sizes();
  const server = await sink();
  try {
    // Worker start, compile and init cost, measured with no orders, is subtracted.
    const empty = [];
    const full = [];
    for (let i = 0; i < rounds; i++) {
      empty.push(await wasiRun(server.origin, 0));
      server.reset();
      full.push(await wasiRun(server.origin, orders));
    }
    const wasiMs = full.map((ms) => Math.max(ms - median(empty), 0.001));
    const ts = [];
    for (let i = 0; i < rounds; i++) {
      server.reset();
      const r = await tsRun(server.origin, orders);
      ts.push(r.ms);
    }
    const perSecond = (ms) => spans / (ms / 1000);
    const figures = [
      figure({
        name: 'WASI spans per second (node:wasi + socket shim, encoded and sent)',
        unit: 'spans/s',
        better: 'higher',
        ours: wasiMs.map(perSecond),
        theirs: ts.map(perSecond),
        rivalName: 'the same work through the TypeScript API (Node)',
        note: `${spans} spans; worker start-up subtracted`,
      }),
      single({ name: 'WASI demo module (sockets), gzip', unit: 'B', wasmtrace: size.demo.gzipBytes }),
      single({ name: 'WASI demo module (JSON lines), gzip', unit: 'B', wasmtrace: size.demoLines.gzipBytes }),
      single({ name: 'WASI library share of the demo module, gzip', unit: 'B', wasmtrace: size.libraryShare.gzipBytes, note: 'demo minus the same job without tracing' }),
      single({ name: 'WASI library share of the demo module, raw', unit: 'B', wasmtrace: size.libraryShare.bytes }),
    ];
    return figures;
  } finally {
    await server.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const figures = await run({ smoke: process.argv.includes('--smoke') });
  for (const f of figures) console.log(`${f.name.padEnd(64)} ${Math.round(f.wasmtrace)} ${f.unit}${f.rival ? ` (rival ${Math.round(f.rival)}, ${f.ratio.toFixed(1)}x)` : ''}`);
}

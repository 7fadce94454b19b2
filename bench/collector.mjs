// The demo collector and viewer: how many spans per second the collector ingests
// (protobuf, protobuf+gzip, OTLP/JSON) running in its own process, fed by this one
// over keep-alive HTTP; and how long the viewer takes to show a 5,000-span trace in
// Chromium, and to draw a frame while scrolling it.
//
//   node bench/collector.mjs [--smoke]     prints the figures
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { startCollector } from '../demo/collector/index.mjs';
import { makeTraceRequest, splitRequest, toProtobuf } from '../demo/collector/synthetic.mjs';
import { launch } from './lib/chromium.mjs';
import { figure } from './lib/figure.mjs';

const cli = fileURLToPath(new URL('../demo/collector/cli.mjs', import.meta.url));

/** Starts the collector in a child process; resolves to its URLs and a stop(). */
function spawnCollector() {
  const child = spawn(process.execPath, [cli, '--port', '0', '--max-spans', '200000'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`collector exited early (${code})`)));
    child.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      child.removeAllListeners('exit');
      resolve({
        ...JSON.parse(out.slice(0, nl)),
        stop: () => new Promise((done) => {
          child.once('exit', done);
          child.kill('SIGTERM');
        }),
      });
    });
  });
}

/** POSTs every body once, `concurrency` at a time over keep-alive; resolves to elapsed ms. */
async function sendAll(url, headers, bodies, concurrency) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const target = new URL(url);
  const post = (body) => new Promise((resolve, reject) => {
    const req = request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent,
      headers: { ...headers, 'content-length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(undefined) : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < bodies.length) await post(bodies[next++]);
  }));
  const ms = performance.now() - t0;
  agent.destroy();
  return ms;
}

async function ingest({ smoke }) {
  const traces = smoke ? 2 : 24;
  const spansPerTrace = 2048;
  const batch = 512; // the OpenTelemetry JS BatchSpanProcessor's default maxExportBatchSize
  const rounds = smoke ? 1 : 5;
  const jsonBodies = [];
  for (let i = 0; i < traces; i++) {
    const { request: req } = makeTraceRequest({ spanCount: spansPerTrace, seed: 500 + i, attributesPerSpan: 6 });
    jsonBodies.push(...splitRequest(req, batch));
  }
  const encodings = [
    { name: 'protobuf', headers: { 'content-type': 'application/x-protobuf' }, bodies: jsonBodies.map((r) => Buffer.from(toProtobuf(r))) },
    { name: 'protobuf+gzip', headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' }, bodies: jsonBodies.map((r) => gzipSync(toProtobuf(r))) },
    { name: 'OTLP/JSON', headers: { 'content-type': 'application/json' }, bodies: jsonBodies.map((r) => Buffer.from(JSON.stringify(r))) },
  ];
  const spans = traces * spansPerTrace;
  const samples = new Map(encodings.map((e) => [e.name, []]));
  const collector = await spawnCollector();
  try {
    // Warm-up: one pass of each, not counted.
    for (const e of encodings) await sendAll(collector.tracesUrl, e.headers, e.bodies.slice(0, 8), 4);
    for (let r = 0; r < rounds; r++) {
      for (const e of encodings) {
        const ms = await sendAll(collector.tracesUrl, e.headers, e.bodies, 4);
        samples.get(e.name).push(spans / (ms / 1000));
      }
    }
  } finally {
    await collector.stop();
  }
  const bytes = (e) => Math.round(e.bodies.reduce((s, b) => s + b.length, 0) / e.bodies.length);
  return encodings.map((e) => figure({
    name: `collector ingest, ${e.name}`,
    unit: 'spans/s',
    ours: samples.get(e.name),
    better: 'higher',
    note: `${spans} spans in ${e.bodies.length} requests of up to ${batch} spans (${bytes(e)} B avg), 4 keep-alive connections, collector in its own process`,
  }));
}

async function viewer({ smoke }) {
  const spanCount = smoke ? 500 : 5000;
  const rounds = smoke ? 1 : 7;
  const collector = await startCollector({ port: 0 });
  const browser = await launch();
  const open = [];
  const render = [];
  const load = [];
  const scroll = [];
  try {
    const { traceId, request: req } = makeTraceRequest({ spanCount, seed: 2 });
    for (const part of splitRequest(req, 512)) {
      await fetch(collector.tracesUrl, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: toProtobuf(part) });
    }
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    for (let r = 0; r < rounds + 1; r++) {
      await page.goto(`${collector.viewerUrl}?r=${r}#trace=${traceId}`);
      await page.waitForFunction(() => window.wasmtraceViewer?.state === 'rendered', null, { timeout: 60_000 });
      const m = await page.evaluate(() => ({ ...window.wasmtraceViewer.lastRender, sincePageStart: performance.now() }));
      if (m.spanCount !== spanCount) throw new Error(`viewer showed ${m.spanCount} spans, expected ${spanCount}`);
      // Scrolling: 40 jumps of 900 px, each until the next frame has been drawn.
      const perFrame = await page.evaluate(async () => {
        const el = document.querySelector('.wf-scroll');
        const frame = () => new Promise((res) => requestAnimationFrame(() => requestAnimationFrame(res)));
        await frame();
        const t0 = performance.now();
        for (let i = 1; i <= 40; i++) {
          el.scrollTop = i * 900;
          await frame();
        }
        return (performance.now() - t0) / 40;
      });
      if (r === 0) continue; // warm-up
      open.push(m.totalMs);
      render.push(m.renderMs);
      load.push(m.sincePageStart);
      scroll.push(perFrame);
    }
  } finally {
    await browser.close();
    await collector.close();
  }
  const size = `${spanCount}-span trace`;
  return [
    figure({ name: 'viewer: show the 5,000-span trace', unit: 'ms', ours: open,
      note: `${size}: API request + JSON + waterfall/graph DOM until the next frame, Chromium headless` }),
    figure({ name: 'viewer: render the 5,000-span trace', unit: 'ms', ours: render,
      note: `${size}: from the parsed API answer to the next frame (DOM, layout, paint), Chromium headless` }),
    figure({ name: 'viewer: page load to 5,000-span waterfall', unit: 'ms', ours: load,
      note: `${size}: from navigation start, viewer modules and list included` }),
    figure({ name: 'viewer: scroll step, 5,000 spans', unit: 'ms/step', ours: scroll,
      note: `${size}: scrollTop += 900 px then two animation frames (one frame is ~16.7 ms)` }),
  ];
}

/** @param {{ smoke?: boolean }} [opts] */
export async function run({ smoke = false } = {}) {
  const figures = [...(await ingest({ smoke })), ...(await viewer({ smoke }))];
  return { figures };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { figures } = await run({ smoke: process.argv.includes('--smoke') });
  for (const f of figures) {
    const value = f.unit === 'spans/s' ? Math.round(f.wasmtrace).toLocaleString('en') : f.wasmtrace.toFixed(1);
    process.stdout.write(`${f.name.padEnd(44)} ${value.padStart(12)} ${f.unit.padEnd(8)} ±${f.spread.wasmtrace.toFixed(0)}%  (${f.note})\n`);
  }
}

// The shop's pricing service: `POST /charge` runs the demo WASI job
// (dist/demo-wasi.wasm) with the caller's traceparent in TRACEPARENT, so the
// job's spans join the caller's trace. It runs under `wasmedge` when that is
// on PATH, else under node:wasi with the WasmEdge socket shim (docs/wasi.md).
// This server makes no spans of its own: the worker's CLIENT span is the
// job's parent.
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { runWasi } from '../wasi-job/host.mjs';

const WASM = fileURLToPath(new URL('../../dist/demo-wasi.wasm', import.meta.url));
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
/** tracestate: printable ASCII, at most 512 characters (W3C Trace Context, tracestate limits). */
const TRACESTATE = /^[\x20-\x7e]{1,512}$/;
const MAX_BODY_BYTES = 16 * 1024;
/** Jobs run at once; the rest wait, up to MAX_WAITING, then get 503. */
const MAX_RUNNING = 2;
const MAX_WAITING = 16;
const JOB_TIMEOUT_MS = 30_000;
/** Orders per job: the job marks its fifth order (five items) as an error. */
const MAX_ORDERS = 4;

/** True when `wasmedge --version` runs. */
export function hasWasmEdge() {
  try {
    return spawnSync('wasmedge', ['--version'], { stdio: 'ignore', timeout: 5000 }).status === 0;
  } catch {
    return false;
  }
}

/**
 * Starts the pricing service.
 * @param {{ port?: number, host?: string, collectorUrl: string, runtime?: 'wasmedge' | 'node:wasi' }} o
 *   collectorUrl: the OTLP/HTTP base URL the job exports to; runtime: default wasmedge when on PATH
 * @returns {Promise<{ url: string, port: number, runtime: string, jobs(): number, close(): Promise<void> }>}
 */
export async function startPricing(o) {
  const runtime = o.runtime ?? (hasWasmEdge() ? 'wasmedge' : 'node:wasi');
  let running = 0;
  let done = 0;
  const waiting = [];
  const children = new Set();

  const slot = () => {
    if (running < MAX_RUNNING) {
      running++;
      return Promise.resolve(true);
    }
    if (waiting.length >= MAX_WAITING) return Promise.resolve(false);
    return new Promise((resolve) => waiting.push(resolve));
  };
  const release = () => {
    const next = waiting.shift();
    if (next) next(true);
    else running--;
  };

  const runJob = (env) =>
    runtime === 'wasmedge' ? runWasmEdge(env, children) : runWasi({ wasm: WASM, env, timeoutMs: JOB_TIMEOUT_MS });

  const server = createServer((req, res) => {
    const send = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/health') return send(200, { ok: true, runtime });
    if (path !== '/charge' || req.method !== 'POST') return send(404, { error: 'not found' });
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size <= MAX_BODY_BYTES) chunks.push(c);
    });
    req.on('end', async () => {
      if (size > MAX_BODY_BYTES) return send(413, { error: 'body too large' });
      let items = 1;
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
        if (Number.isInteger(body?.items)) items = body.items;
      } catch {
        return send(400, { error: 'body is not JSON' });
      }
      const orders = Math.min(Math.max(items, 1), MAX_ORDERS);
      const env = {
        OTEL_SERVICE_NAME: 'pricing-job',
        OTEL_EXPORTER_OTLP_ENDPOINT: o.collectorUrl,
        OTEL_RESOURCE_ATTRIBUTES: `deployment.environment.name=dev,wasi.runtime=${runtime}`,
        ORDERS: String(orders),
      };
      const tp = header(req.headers.traceparent);
      if (tp && TRACEPARENT.test(tp)) {
        env.TRACEPARENT = tp;
        const ts = header(req.headers.tracestate);
        if (ts && TRACESTATE.test(ts)) env.TRACESTATE = ts;
      }
      if (!(await slot())) return send(503, { error: 'too many jobs waiting' });
      const startMs = Date.now();
      try {
        const r = await runJob(env);
        done++;
        // Exit 1 with the loss line means the pricing ran but spans were lost
        // (collector down): a tracing problem must not fail the checkout.
        const ok = r.exitCode === 0 || (r.exitCode === 1 && /spans lost/.test(r.stderr));
        send(ok ? 200 : 500, {
          charged: ok, orders, runtime, exitCode: r.exitCode,
          durationMs: Date.now() - startMs, stderr: r.stderr.trim().slice(0, 500) || undefined,
        });
      } catch (e) {
        send(502, { charged: false, runtime, error: e instanceof Error ? e.message : String(e) });
      } finally {
        release();
      }
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 8788, o.host ?? '127.0.0.1', () => resolve(undefined));
  });
  const port = /** @type {import('node:net').AddressInfo} */ (server.address()).port;
  return {
    url: `http://${o.host ?? '127.0.0.1'}:${port}`,
    port,
    runtime,
    jobs: () => done,
    close: () =>
      new Promise((resolve) => {
        for (const c of children) c.kill('SIGKILL');
        for (const w of waiting.splice(0)) w(false);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function header(v) {
  return Array.isArray(v) ? v[0] : v;
}

/** Runs the job under WasmEdge with only `env` in its environment. */
function runWasmEdge(env, children) {
  const args = [];
  for (const [k, v] of Object.entries(env)) args.push('--env', `${k}=${v}`);
  args.push(WASM);
  return new Promise((resolve, reject) => {
    const child = spawn('wasmedge', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => { if (stdout.length < 65_536) stdout += c; });
    child.stderr.on('data', (c) => { if (stderr.length < 65_536) stderr += c; });
    const timer = setTimeout(() => child.kill('SIGKILL'), JOB_TIMEOUT_MS);
    child.on('error', (e) => {
      clearTimeout(timer);
      children.delete(child);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      if (signal) reject(new Error(`wasmedge ended by ${signal}`));
      else resolve({ exitCode: code ?? 1, stdout, stderr });
    });
  });
}

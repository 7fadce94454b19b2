// The shop's API: the example worker (worker/example/index.ts) in workerd
// through miniflare, as `wrangler dev` would run it (test/worker/example.test.ts
// runs it under `wrangler dev` itself). esbuild bundles it with `wasmtrace/worker` taken from dist/, and
// the Wasm stays a separate CompiledWasm module, as wrangler's rules make it.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { Log, LogLevel, Miniflare } from 'miniflare';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = join(root, 'dist');
const ENTRY = join(root, 'worker', 'example', 'index.ts');
/** The example's wrangler.toml date; workerd rejects dates newer than itself. */
const COMPATIBILITY_DATE = '2025-09-01';

/** worker/example bundled to one ES module; its `./wasmtrace.wasm` import stays external. */
async function bundle() {
  const out = await esbuild.build({
    entryPoints: [ENTRY],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    logLevel: 'silent',
    plugins: [{
      name: 'wasmtrace-from-dist',
      setup(b) {
        // The package's own name, as a user's worker imports it.
        b.onResolve({ filter: /^wasmtrace\/worker$/ }, () => ({ path: join(dist, 'worker.js') }));
        b.onResolve({ filter: /\.wasm$/ }, (a) => ({ path: a.path, external: true }));
      },
    }],
  });
  return out.outputFiles[0].text;
}

/**
 * Starts the example worker.
 * @param {{ port?: number, host?: string, collectorUrl: string, paymentsUrl: string, quiet?: boolean }} o
 *   collectorUrl: OTLP/HTTP base URL; paymentsUrl: the upstream its checkout calls
 * @returns {Promise<{ url: string, port: number, close(): Promise<void> }>}
 */
export async function startEdge(o) {
  const host = o.host ?? '127.0.0.1';
  const requested = o.port ?? 8787;
  // workerd aborts with a stack dump on a busy port: find out first.
  if (requested !== 0) await probe(host, requested);
  const [script, wasm] = await Promise.all([bundle(), readFile(join(dist, 'wasmtrace.wasm'))]);
  const mf = new Miniflare({
    host,
    port: requested,
    log: new Log(o.quiet ? LogLevel.NONE : LogLevel.WARN),
    // The fallback Request.cf: fetching the real one needs the internet.
    cf: false,
    workers: [{
      name: 'shop-edge',
      modules: [
        { type: 'ESModule', path: join(dist, 'shop-edge.mjs'), contents: script },
        { type: 'CompiledWasm', path: join(dist, 'wasmtrace.wasm'), contents: wasm },
      ],
      modulesRoot: dist,
      compatibilityDate: COMPATIBILITY_DATE,
      bindings: {
        PAYMENTS_URL: o.paymentsUrl,
        OTEL_EXPORTER_OTLP_ENDPOINT: o.collectorUrl,
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=dev',
      },
    }],
  });
  let url;
  try {
    url = await mf.ready;
  } catch (e) {
    await mf.dispose().catch(() => {});
    throw e;
  }
  const port = Number(url.port);
  return {
    url: `http://${host}:${port}`,
    port,
    close: () => mf.dispose(),
  };
}

/** Rejects with the listen error (EADDRINUSE, …) when `port` cannot be bound. */
function probe(host, port) {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, host, () => server.close(() => resolve(undefined)));
  });
}

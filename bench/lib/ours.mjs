// wasmtrace as the benchmarks use it in Node: the public init() from
// dist/node.js. While init() does not work end to end (delivery landing), it
// falls back to the real core and tracer bundled from src/ with a plain drain
// for delivery, and says so in `via`.
import { readFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { dist } from './paths.mjs';

let fallback;
async function loadFallback() {
  if (!fallback) {
    const dir = join(tmpdir(), `wasmtrace-bench-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    const outfile = join(dir, 'core-entry.mjs');
    await esbuild.build({
      entryPoints: [fileURLToPath(new URL('core-entry.ts', import.meta.url))],
      outfile, bundle: true, format: 'esm', platform: 'node', target: 'es2022', mangleProps: /^_/, logLevel: 'error',
    });
    fallback = await import(pathToFileURL(outfile).href);
  }
  return fallback;
}

let initWorks;
/** True when dist/node.js exists and its init() exports spans through a transport. */
async function canInit() {
  if (initWorks === undefined) {
    initWorks = false;
    try {
      const { init } = await import(new URL('node.js', dist).href);
      let got = 0;
      const t = await init({ serviceName: 'probe', storage: null, compression: 'none', transport: async (b) => ((got += b.length), { status: 200 }) });
      t.startSpan('probe').end();
      await t.flush();
      initWorks = got > 0;
    } catch {
      initWorks = false;
    }
  }
  return initWorks;
}

/**
 * A tracer that exports through `transport(body)` with batches of
 * `maxExportBatchSize`; returns `{ tracer, setClock, via }`.
 */
export async function ourTracer({ transport, json = false, maxExportBatchSize = 512, serviceName = 'bench' }) {
  const send = async (body) => (await transport(body), { status: 200 });
  if (await canInit()) {
    const mod = await import(new URL('node.js', dist).href);
    const tracer = await mod.init({
      serviceName, transport: send, storage: null, compression: 'none', maxExportBatchSize,
      scheduledDelayMs: 3_600_000, protocol: json ? 'http/json' : 'http/protobuf',
    });
    return { tracer, setClock: mod.setClock, via: 'init() from dist/node.js' };
  }
  const mod = await loadFallback();
  const wasm = readFileSync(new URL(json ? 'wasmtrace-json.wasm' : 'wasmtrace.wasm', dist));
  const tracer = await mod.coreInit({ wasm, json, serviceName, maxExportBatchSize, transport: send });
  return { tracer, setClock: mod.setClock, via: 'core tracer from src/ (init() not working yet)' };
}

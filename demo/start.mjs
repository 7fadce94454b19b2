// `npm start` (after the build): the whole demo on 127.0.0.1 — the collector
// and trace viewer, the WASI pricing job behind a small HTTP service, the
// example worker in workerd as the shop's API, and the shop page. Prints each
// URL, then one ready line. Ctrl-C stops everything.
//
//   node demo/start.mjs [--collector-port 4318] [--shop-port 8080] [--api-port 8787] [--pricing-port 8788]
//
// From code (the end-to-end test): startDemo({ ports: { collector: 0, … } }).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startCollector } from './collector/index.mjs';
import { startEdge } from './edge/index.mjs';
import { startPricing } from './pricing/server.mjs';
import { startShop } from './shop/server.mjs';

export const DEFAULT_PORTS = Object.freeze({ collector: 4318, shop: 8080, api: 8787, pricing: 8788 });
const HOST = '127.0.0.1';
const NEEDED = ['wasmtrace.js', 'wasmtrace.wasm', 'worker.js', 'demo-wasi.wasm'];

/**
 * Starts every piece of the demo; resolves once all of them answer.
 * @param {{ ports?: Partial<typeof DEFAULT_PORTS>, quiet?: boolean, runtime?: 'wasmedge' | 'node:wasi' }} [options]
 *   ports: 0 picks a free one; quiet: print nothing; runtime: how the WASI job runs (default wasmedge when on PATH)
 */
export async function startDemo(options = {}) {
  const ports = { ...DEFAULT_PORTS, ...options.ports };
  const say = options.quiet ? () => {} : (line) => process.stdout.write(line + '\n');
  const missing = NEEDED.filter((f) => !existsSync(fileURLToPath(new URL(`../dist/${f}`, import.meta.url))));
  if (missing.length) throw new Error(`dist/ lacks ${missing.join(', ')}: run \`npm run build\` (npm start does it for you)`);

  const started = [];
  const closeAll = async () => {
    for (const piece of started.splice(0).reverse()) await piece.close().catch(() => {});
  };
  const step = async (what, port, start) => {
    try {
      const piece = await start();
      started.push(piece);
      return piece;
    } catch (e) {
      await closeAll();
      const code = /** @type {{ code?: string }} */ (e)?.code;
      const why = code === 'EADDRINUSE' || /address already in use/i.test(String(e))
        ? `port ${port} is in use (choose another with --${what}-port)`
        : e instanceof Error ? e.message : String(e);
      throw new Error(`wasmtrace demo: cannot start the ${what}: ${why}`, { cause: e });
    }
  };

  const collector = await step('collector', ports.collector, () => startCollector({ host: HOST, port: ports.collector }));
  say(`collector  ${collector.tracesUrl}  (OTLP/HTTP)`);
  say(`viewer     ${collector.viewerUrl}`);
  const pricing = await step('pricing', ports.pricing, () =>
    startPricing({ host: HOST, port: ports.pricing, collectorUrl: collector.url, runtime: options.runtime }));
  say(`pricing    ${pricing.url}/charge  (WASI job under ${pricing.runtime})`);
  const edge = await step('api', ports.api, () =>
    startEdge({ host: HOST, port: ports.api, collectorUrl: collector.url, paymentsUrl: pricing.url, quiet: options.quiet }));
  say(`api        ${edge.url}/api/checkout  (worker/example in workerd)`);
  const shop = await step('shop', ports.shop, () =>
    startShop({ host: HOST, port: ports.shop, tracesUrl: collector.tracesUrl, apiUrl: edge.url, viewerUrl: collector.viewerUrl }));
  say(`shop       ${shop.url}/`);
  say(`wasmtrace demo ready: shop ${shop.url}/  viewer ${collector.viewerUrl}  (Ctrl-C to stop)`);

  let closing;
  return {
    shopUrl: `${shop.url}/`,
    viewerUrl: collector.viewerUrl,
    /** The viewer's JSON API, e.g. `${apiUrl}/traces`. */
    viewerApiUrl: collector.apiUrl,
    collectorUrl: collector.url,
    tracesUrl: collector.tracesUrl,
    /** The worker's origin (the shop's API). */
    apiUrl: edge.url,
    pricingUrl: pricing.url,
    runtime: pricing.runtime,
    collector,
    /** Stops every piece; safe to call twice. */
    close: () => (closing ??= closeAll()),
  };
}

async function main() {
  const { values } = parseArgs({
    options: {
      'collector-port': { type: 'string' },
      'shop-port': { type: 'string' },
      'api-port': { type: 'string' },
      'pricing-port': { type: 'string' },
    },
  });
  const port = (v, name) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--${name}-port ${v} is not a port number`);
    return n;
  };
  const ports = {};
  for (const name of ['collector', 'shop', 'api', 'pricing']) {
    const n = port(values[`${name}-port`], name);
    if (n !== undefined) ports[name] = n;
  }
  const SIGNALS = ['SIGINT', 'SIGTERM'];
  const before = new Map(SIGNALS.map((sig) => [sig, new Set(process.listeners(sig))]));
  const demo = await startDemo({ ports });
  // Miniflare's exit hook answers these signals with process.exit() at once,
  // before anything else can close. Here we stop it ourselves (dispose kills
  // workerd); its 'exit' hook stays as the backstop.
  for (const sig of SIGNALS) {
    for (const fn of process.listeners(sig)) if (!before.get(sig)?.has(fn)) process.removeListener(sig, fn);
  }
  let stopping = false;
  const stop = (signal) => {
    if (stopping) process.exit(130); // a second Ctrl-C: do not wait
    stopping = true;
    process.stdout.write(`\n${signal}: stopping the demo\n`);
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    demo.close().then(() => process.exit(0), () => process.exit(1));
  };
  for (const sig of SIGNALS) process.on(sig, () => stop(sig));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}

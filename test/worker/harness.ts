// Runs the fixtures in real workerd (miniflare from npm), with a node:http
// upstream on 127.0.0.1 that records the trace headers it receives.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Miniflare, type WorkerOptions } from 'miniflare';
import { startCollector, type Collector } from '../helpers/collector.js';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const fixture = (name: string): string => fileURLToPath(new URL(`fixtures/${name}`, import.meta.url));

export interface Upstream {
  url: string;
  requests: Array<{ url: string; headers: IncomingHttpHeaders }>;
  close(): Promise<void>;
}

/** Answers every request with JSON of its traceparent, tracestate, baggage and path, after `?delay=ms`. */
export async function startUpstream(): Promise<Upstream> {
  const requests: Upstream['requests'] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', async () => {
      const delay = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('delay') ?? 0);
      if (delay > 0) await new Promise((r) => setTimeout(r, Math.min(delay, 2000)));
      requests.push({ url: req.url ?? '', headers: req.headers });
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ url: req.url, traceparent: req.headers.traceparent ?? null, tracestate: req.headers.tracestate ?? null, baggage: req.headers.baggage ?? null }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  if (!a || typeof a === 'string') throw new Error('upstream: no address');
  return {
    url: `http://127.0.0.1:${a.port}`,
    requests,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A Miniflare whose workers load .wasm imports as compiled modules, as wrangler does; `shared`: its other options. */
export function startWorkers(workers: WorkerOptions[], shared: Record<string, unknown> = {}): Miniflare {
  return new Miniflare({
    ...shared,
    workers: workers.map((w) => ({
      modules: true,
      modulesRoot: root,
      modulesRules: [
        { type: 'ESModule', include: ['**/*.js', '**/*.mjs'] },
        { type: 'CompiledWasm', include: ['**/*.wasm'] },
      ],
      compatibilityDate: '2025-09-01',
      ...w,
    })) as WorkerOptions[],
  } as ConstructorParameters<typeof Miniflare>[0]);
}

/**
 * Workers of fixtures/headers.mjs, one per set of `bindings`: `<prefix><i>`
 * (its host `<prefix><i>.example`, its service name), each exporting at once
 * to one node:http collector.
 */
export async function startHeaderWorkers(prefix: string, bindings: Array<Record<string, string>>): Promise<HeaderWorkers> {
  const collector = await startCollector();
  const mf = startWorkers(
    bindings.map((b, i) => ({
      name: `${prefix}${i}`,
      routes: [`${prefix}${i}.example/*`],
      scriptPath: fixture('headers.mjs'),
      bindings: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: collector.url, OTEL_SERVICE_NAME: `${prefix}${i}`, OTEL_BSP_SCHEDULE_DELAY: '0', ...b },
    })),
  );
  await mf.ready;
  const service = (q: Collector['requests'][number], name: string): boolean =>
    !!q.decoded?.resourceSpans.some((rs) => rs.resource.attributes.some((a) => a.key === 'service.name' && 'stringValue' in a.value && a.value.stringValue === name));
  return {
    collector,
    get: async (i, path) => (await mf.dispatchFetch(`http://${prefix}${i}.example${path}`)).text(),
    exportOf: (i) => collector.requests.find((q) => service(q, `${prefix}${i}`)),
    close: async () => {
      await mf.dispose();
      await collector.close();
    },
  };
}

export interface HeaderWorkers {
  collector: Collector;
  /** The body worker `i` answers to `path`. */
  get(i: number, path: string): Promise<string>;
  /** The export request of worker `i`, once it has arrived. */
  exportOf(i: number): Collector['requests'][number] | undefined;
  close(): Promise<void>;
}

/**
 * `script` twice, with `bindings`: at guess.example without async context
 * (parents found by what is in flight) and at als.example with
 * AsyncLocalStorage (nodejs_compat).
 */
export function guessAndAls(script: string, bindings: Record<string, string>): WorkerOptions[] {
  return [
    { name: 'guess', routes: ['guess.example/*'], scriptPath: fixture(script), bindings },
    { name: 'als', routes: ['als.example/*'], scriptPath: fixture(script), bindings, compatibilityFlags: ['nodejs_compat'] },
  ] as WorkerOptions[];
}

// `wasm` as a URL in Node: a file: URL — the natural one for a local file,
// `new URL('./wasmtrace.wasm', import.meta.url)` — went to fetch, which has
// no file: scheme, so tracing was off with "fetch failed". It is read from
// disk now, as a URL object or a string, and so is a file path (a string that
// is no URL); an http URL is still fetched. A
// module that cannot be loaded gives one warning naming it, no throw, and a
// tracer that records nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { init, type InitOptions } from '../../src/node.js';
import { allSpans, decodeByContentType } from '../helpers/otlp.js';
import { prng } from '../../demo/collector/synthetic.mjs';

const dist = new URL('../../dist/', import.meta.url);

/** The Node entry with a transport that decodes what it is given; the span names exported. */
async function exported(options: InitOptions, spans: string[]): Promise<string[]> {
  const names: string[] = [];
  const tracer = await init({
    serviceName: 'wasm-url',
    storage: null,
    compression: 'none',
    env: {},
    transport: async (body, meta) => (names.push(...allSpans(decodeByContentType(meta.contentType, Buffer.from(body))).map((s) => s.name)), { status: 200 }),
    ...options,
  });
  for (const name of spans) tracer.startSpan(name).end();
  await tracer.shutdown();
  return names;
}

/** Runs `fn` with console.warn recorded. */
async function warnings(fn: () => Promise<void>): Promise<string[]> {
  const heard: string[] = [];
  const warn = console.warn;
  console.warn = (...a: unknown[]) => void heard.push(a.map(String).join(' '));
  try {
    await fn();
  } finally {
    console.warn = warn;
  }
  return heard;
}

test('wasm as a file: URL (a URL object, a string, relative to the module) loads from disk; an http URL is still fetched (generated paths)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmtrace url ä-'));
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/wasm');
    res.end(readFileSync(new URL(req.url!.endsWith('json.wasm') ? 'wasmtrace-json.wasm' : 'wasmtrace.wasm', dist)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    const r = prng(0xf11e);
    const heard = await warnings(async () => {
      for (let i = 0; i < 18; i++) {
        const json = r() < 0.5;
        const name = json ? 'wasmtrace-json.wasm' : 'wasmtrace.wasm';
        // A copy in a directory whose name needs escaping in a URL (a space, a non-ASCII letter).
        const file = join(dir, `m ${i}-${name}`);
        copyFileSync(new URL(name, dist), file);
        const forms: Array<[string, string | URL]> = [
          ['URL object', pathToFileURL(file)],
          ['string', pathToFileURL(file).href],
          ['relative to the module', new URL(`../../dist/${name}`, import.meta.url)],
          ['http', `http://127.0.0.1:${port}/${name}`],
          ['path', file],
          ['path relative to the working directory', relative(process.cwd(), file)],
        ];
        const [form, wasm] = forms[i % forms.length]!;
        const spans = Array.from({ length: 1 + Math.floor(r() * 4) }, (_, j) => `s${i}-${j}`);
        const got = await exported({ wasm, protocol: json ? 'http/json' : 'http/protobuf' }, spans);
        assert.deepEqual(got.sort(), spans, `${form} ${String(wasm)}`);
      }
    });
    assert.deepEqual(heard, []);
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a wasm URL that cannot be loaded (a missing file, as a URL or a string; a dead http port): one warning naming it, no throw, a tracer that records nothing', async () => {
  const missing = pathToFileURL(join(tmpdir(), `wasmtrace-missing-${process.pid}`, 'wasmtrace.wasm'));
  const sources: Array<string | URL> = [missing, new URL('other.wasm', missing).href, 'http://127.0.0.1:9/wasmtrace.wasm', `./wasmtrace-missing-${process.pid}.wasm`];
  for (const wasm of sources) {
    const heard = await warnings(async () => {
      const tracer = await init({ serviceName: 'x', wasm, storage: null, env: {} });
      const s = tracer.startSpan('nothing');
      assert.equal(s.isRecording(), false);
      assert.equal(s.spanContext().traceId, '0'.repeat(32));
      s.end();
      assert.deepEqual(await tracer.flush(), { sent: 0, queued: 0, dropped: 0 });
      await tracer.shutdown();
    });
    assert.equal(heard.length, 1, `${String(wasm)}: ${JSON.stringify(heard)}`);
    assert.match(heard[0]!, /tracing is off: loading .* failed/, String(wasm));
    assert.ok(heard[0]!.includes(String(wasm)), `the warning names ${String(wasm)}: ${heard[0]}`);
  }
});

test('options that throw when read, with or around a wasm URL: init() still resolves to a tracer that does not throw', async () => {
  const trap = (): never => {
    throw new Error('trap');
  };
  const file = new URL('../../dist/wasmtrace.wasm', import.meta.url);
  const hostile = [
    new Proxy({ serviceName: 's', env: {}, wasm: file }, { ownKeys: trap }),
    new Proxy({ serviceName: 's', env: {}, wasm: file.href }, { ownKeys: trap, getOwnPropertyDescriptor: trap }),
    Object.defineProperty({ serviceName: 's', env: {} }, 'wasm', { get: trap, enumerable: true }),
  ];
  await warnings(async () => {
    for (const options of hostile) {
      const tracer = await init(options as never);
      assert.doesNotThrow(() => tracer.startSpan('x').end());
      await tracer.shutdown();
    }
  });
});

test('options given with a prototype (Object.create, a class with defaults) keep their inherited settings when wasm is a path or URL', async () => {
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/wasm');
    res.end(readFileSync(new URL('wasmtrace.wasm', dist)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const wasmFile = new URL('wasmtrace.wasm', dist);
  const forms: Array<string | URL> = [wasmFile, wasmFile.href, relative(process.cwd(), fileURLToPath(wasmFile)), `http://127.0.0.1:${(server.address() as { port: number }).port}/wasmtrace.wasm`];
  try {
    for (const wasm of forms) {
      const names: string[] = [];
      const base = {
        serviceName: 'inherited', storage: null, compression: 'none', env: {},
        transport: async (body: Uint8Array, meta: { contentType: string }) => (names.push(...allSpans(decodeByContentType(meta.contentType, Buffer.from(body))).map((s) => s.name)), { status: 200 }),
      };
      const own = Object.assign(Object.create(base) as InitOptions, { wasm });
      const tracer = await init(own);
      tracer.startSpan('via-inherited-transport').end();
      await tracer.shutdown();
      assert.deepEqual(names, ['via-inherited-transport'], `${String(wasm)}: the inherited transport`);
      const off = await init(Object.assign(Object.create({ disabled: true }) as InitOptions, { wasm }));
      assert.equal(off.startSpan('x').isRecording(), false, `${String(wasm)}: the inherited disabled`);
    }
  } finally {
    server.close();
  }
});

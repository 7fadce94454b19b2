// The package a user installs: `npm pack` of this repository (dist/ as the
// last build left it; nothing is rebuilt), checked file by file against what
// package.json and the shipped files themselves name, then installed into a
// temporary consumer project without the network (the tarball extracted into
// node_modules/wasmtrace, its dependency web-vitals and the tools linked from
// this repository's node_modules) and used there as a consumer would: from
// Node through the `node` condition, type-checked by tsc under NodeNext and
// Bundler resolution, and bundled by esbuild through the `browser` condition
// into a page that runs in real Chromium, and by esbuild as wrangler does into
// a Worker that runs in real workerd. Every export reaches a node:http
// collector on 127.0.0.1 and is decoded by the independent OTLP decoder.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import * as esbuild from 'esbuild';
import { Miniflare } from 'miniflare';
import { launchChromium, type PlaywrightBrowser } from '../helpers/browser.js';
import { startCollector, startStaticServer, type Collector } from '../helpers/collector.js';
import { attrs, type FlatSpan } from '../helpers/otlp.js';
import {
  ALWAYS_SHIPPED, NEVER_SHIPPED, ascCandidates, ascReferences, conditionObjects, coveredByFiles, dtsCandidates,
  dtsReferences, entryTargets, isRelative, jsReferences, packagePath, resolveFrom, walkImports, type Manifest,
} from './shipped.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Manifest;

/** The environment without OTEL_* settings (as scripts/test.mjs gives the tests). */
const hermeticEnv = (): NodeJS.ProcessEnv =>
  Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(OTEL_|TRACEPARENT$|TRACESTATE$|BAGGAGE$)/.test(k)));

interface Run { code: number | null; stdout: string; stderr: string }

/** Runs `cmd args` in `cwd`; resolves when it exits (killed after `timeoutMs`). */
function run(cmd: string, args: string[], cwd: string, timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: hermeticEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

let tmp = '';
/** Paths in the tarball, without its `package/` prefix. */
let shipped = new Set<string>();
/** The consumer project: node_modules/wasmtrace is the extracted tarball. */
let consumer = '';
const installed = (...p: string[]): string => join(consumer, 'node_modules', manifest.name, ...p);
const readShipped = (p: string): string => readFileSync(installed(p), 'utf8');

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'wasmtrace-package-'));
  // --ignore-scripts: a prepack script must not rebuild dist/ under the other suites' feet.
  const pack = spawnSync('npm', ['pack', '--json', '--offline', '--ignore-scripts', '--pack-destination', tmp], {
    cwd: root, encoding: 'utf8', env: { ...hermeticEnv(), npm_config_update_notifier: 'false' }, timeout: 60_000,
  });
  assert.equal(pack.status, 0, `npm pack failed: ${pack.stderr}`);
  const [packed] = JSON.parse(pack.stdout) as Array<{ filename: string }>;
  assert.ok(packed, pack.stdout);
  const tarball = join(tmp, packed.filename);

  const list = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' });
  assert.equal(list.status, 0, list.stderr);
  shipped = new Set(list.stdout.split('\n').filter((l) => l && !l.endsWith('/')).map((l) => l.replace(/^package\//, '')));

  consumer = join(tmp, 'consumer');
  mkdirSync(installed(), { recursive: true });
  const untar = spawnSync('tar', ['-xzf', tarball, '-C', installed(), '--strip-components=1'], { encoding: 'utf8' });
  assert.equal(untar.status, 0, untar.stderr);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: { [manifest.name]: manifest.version } }));
  // The dependencies as npm would install them, and the consumer's tools; never the registry.
  const link = (name: string): void => {
    mkdirSync(join(consumer, 'node_modules', name, '..'), { recursive: true });
    symlinkSync(join(root, 'node_modules', name), join(consumer, 'node_modules', name), 'dir');
  };
  for (const name of Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies })) link(name);
  link('typescript');
  link('@types/node');
  link('@opentelemetry/api'); // an app that mixes in OpenTelemetry's contexts and attributes (types below)
});

after(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the tarball', () => {
  test('holds every file the exports map (each condition) and the entry fields name', () => {
    const targets = entryTargets(manifest);
    assert.ok(targets.length > 0, 'package.json names no entry');
    for (const t of targets) {
      assert.ok(!t.path.includes('*'), `${t.where}: pattern exports need this check extended`);
      assert.ok(t.path.startsWith('./'), `${t.where}: "${t.path}" must start with ./`);
      assert.ok(shipped.has(packagePath(t.path)), `${t.where} → ${t.path} is not in the tarball`);
    }
  });

  test('every conditions object puts "default" last (conditions after it, "types" included, are never reached)', () => {
    const objects = conditionObjects(manifest);
    assert.ok(objects.length > 0, 'the exports map has no conditions');
    for (const { where, keys } of objects) {
      if (keys.includes('default')) assert.equal(keys.at(-1), 'default', `${where}: "default" must be the last condition`);
    }
  });

  test('the reference finder sees each form the bundles use (so the next check can fail)', () => {
    const code = `}import W from"./a.wasm";export{x}from'./b.js';import("./c.js");` +
      `new URL(json ? "./d-json.wasm" : "./d.wasm", import.meta.url);new URL(u?"e-json.wasm":"e.wasm",r);import "node:fs";`;
    assert.deepEqual(jsReferences(code).map((r) => r.specifier).sort(),
      ['./a.wasm', './a.wasm', './b.js', './c.js', './d-json.wasm', './d-json.wasm', './d.wasm', './d.wasm', 'e-json.wasm', 'e.wasm', 'node:fs']);
  });

  test('holds every file its JavaScript loads relative to itself, and imports nothing but builtins and dependencies', () => {
    const deps = Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies });
    const jsFiles = [...shipped].filter((p) => /\.[cm]?js$/.test(p));
    assert.ok(jsFiles.length > 0, 'no JavaScript shipped');
    let relative = 0;
    for (const file of jsFiles) {
      for (const { how, specifier } of jsReferences(readShipped(file))) {
        const local = isRelative(specifier) || (how === 'wasm literal' && !specifier.includes('/'));
        if (local) {
          relative++;
          assert.ok(shipped.has(resolveFrom(file, specifier)), `${file}: ${how} '${specifier}' → ${resolveFrom(file, specifier)} is not in the tarball`);
        } else if (how !== 'wasm literal') {
          const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
          assert.ok(specifier.startsWith('node:') || deps.includes(name), `${file}: ${how} '${specifier}' is neither a node: builtin nor a dependency`);
        }
      }
    }
    // The Wasm modules are loaded by every entry: none found means the finder is broken.
    assert.ok(relative > 0, 'no relative reference found in any shipped JavaScript');
  });

  test('every declaration file the exports\' types import is shipped', () => {
    const starts = entryTargets(manifest).filter((t) => t.path.endsWith('.d.ts')).map((t) => packagePath(t.path));
    assert.ok(starts.length > 0, 'no types entry');
    const { reached, missing } = walkImports(starts, shipped, readShipped, (file, code) =>
      dtsReferences(code).map((specifier) => ({ specifier, candidates: dtsCandidates(file, specifier) })));
    assert.deepEqual(missing, []);
    assert.ok(reached.size > starts.length, 'the types entries import nothing: the walk did not run');
  });

  test('every AssemblyScript source the ./assembly entry imports is shipped', () => {
    const starts = entryTargets(manifest).filter((t) => t.path.endsWith('.ts') && !t.path.endsWith('.d.ts')).map((t) => packagePath(t.path));
    const { reached, missing } = walkImports(starts, shipped, readShipped, (file, code) =>
      ascReferences(code).map((specifier) => ({ specifier, candidates: ascCandidates(file, specifier) })));
    assert.deepEqual(missing, []);
    assert.equal(starts.every((s) => reached.has(s)), true);
  });

  test('holds only what `files` ships: no tests, benchmarks, demos, node_modules, or source maps leading outside', () => {
    const files = manifest.files ?? [];
    assert.ok(files.length > 0, 'package.json has no `files`: everything not ignored would ship');
    for (const p of shipped) {
      assert.ok(coveredByFiles(p, files) || ALWAYS_SHIPPED.test(p), `${p} is neither under \`files\` (${files.join(', ')}) nor a file npm always adds`);
      const bad = p.split('/').find((seg) => NEVER_SHIPPED.includes(seg));
      assert.equal(bad, undefined, `${p}: a ${bad}/ path is shipped`);
      assert.doesNotMatch(p, /\.(test|spec)\.[cm]?[jt]s$/, `${p}: a test file is shipped`);
    }
    // A source map may ship only if everything it names is inside the package.
    for (const p of shipped) {
      if (p.endsWith('.map')) {
        for (const src of (JSON.parse(readShipped(p)) as { sources?: string[] }).sources ?? []) {
          const at = resolveFrom(p, src);
          assert.ok(!at.startsWith('../') && shipped.has(at), `${p}: source ${src} is not in the package`);
        }
      } else if (/\.([cm]?js|d\.ts)$/.test(p)) {
        for (const m of readShipped(p).matchAll(/[#@] sourceMappingURL=(\S+)/g)) {
          if (m[1]!.startsWith('data:')) continue;
          assert.ok(shipped.has(resolveFrom(p, m[1]!)), `${p}: sourceMappingURL ${m[1]} is not in the package`);
        }
      }
    }
  });

  // The demo's WASI jobs (dist/demo-*.wasm, ~94 KB) are kept out by `files`. Declarations
  // are left out of this check: tsc writes one per source file, public or not.
  test('every file under dist/ but the declarations is an entry or loaded by a shipped file', () => {
    const reachable = new Set(entryTargets(manifest).map((t) => packagePath(t.path)));
    for (const file of [...shipped].filter((p) => /\.[cm]?js$/.test(p))) {
      for (const { how, specifier } of jsReferences(readShipped(file))) {
        if (isRelative(specifier) || (how === 'wasm literal' && !specifier.includes('/'))) reachable.add(resolveFrom(file, specifier));
      }
    }
    const stray = [...shipped].filter((p) => p.startsWith('dist/') && !p.endsWith('.d.ts') && !reachable.has(p));
    assert.deepEqual(stray, []);
  });

  // Vite's asset plugin matches only `new URL('<literal>', import.meta.url)` (a regular
  // expression over the source); webpack 5 makes an asset only of a first argument that
  // evaluates to one string (recent releases make an expression context of anything else,
  // with a "Critical dependency" warning). A `new URL(json ? './a.wasm' : './b.wasm', …)`
  // is neither. Not run here (no Vite or webpack installed): a static check of the form
  // those bundlers document.
  test('every new URL(…, import.meta.url) in the ES module builds has one string literal first', () => {
    const forms: string[] = [];
    for (const file of [...shipped].filter((p) => /\.[cm]?js$/.test(p))) {
      for (const m of readShipped(file).matchAll(/\bnew\s+URL\s*\(([^()]*?),\s*import\.meta\.url\s*\)/g)) {
        if (!/^\s*(["'`])[^"'`$]*\1\s*$/.test(m[1]!)) forms.push(`${file}: new URL(${m[1]}, import.meta.url)`);
      }
    }
    assert.deepEqual(forms, []);
  });
});

describe('installed in a consumer project, without the network', () => {
  test('Node: `import { init } from \'wasmtrace\'` (the node condition) exports a span the OTLP decoder reads', async () => {
    const c = await startCollector();
    try {
      writeFileSync(join(consumer, 'node-app.mjs'), `
        import { init, SpanKind } from 'wasmtrace';
        import * as core from 'wasmtrace/core';
        const tracer = await init({ serviceName: 'package-node', endpoint: process.argv[2] });
        tracer.startSpan('packaged-span', { kind: SpanKind.CLIENT, attributes: { 'order.id': 'A-1', 'order.items': 3, paid: true } }).end();
        const result = await tracer.shutdown();
        // wasmtrace/core in Node: the Node entry too, which finds its Wasm without a wasm option.
        const coreTracer = await core.init({ serviceName: 'package-node-core', endpoint: process.argv[2] });
        coreTracer.startSpan('core-span').end();
        result.core = await coreTracer.shutdown();
        const coreFunctions = Object.keys(core).filter((k) => typeof core[k] === 'function').sort();
        console.log(JSON.stringify({ result, coreFunctions, main: import.meta.resolve('wasmtrace'), core: import.meta.resolve('wasmtrace/core') }));
      `);
      const r = await run(process.execPath, ['node-app.mjs', c.url], consumer);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { result: { sent: number; dropped: number; core: { sent: number } }; coreFunctions: string[]; main: string; core: string };
      assert.equal(out.main, pathToFileURL(installed('dist', 'node.js')).href, 'wasmtrace resolves to the tarball\'s node build');
      assert.equal(out.core, pathToFileURL(installed('dist', 'node.js')).href, 'wasmtrace/core in Node is the node build');
      assert.equal(out.result.core.sent, 1, 'wasmtrace/core\'s init() loaded its Wasm in Node');
      assert.ok(out.coreFunctions.includes('init') && out.coreFunctions.includes('parseTraceparent'), `wasmtrace/core exports ${out.coreFunctions}`);
      assert.deepEqual([out.result.sent, out.result.dropped], [1, 0]);
      await c.waitFor(() => c.spans().length === 2);
      const span = c.spans().find((s) => s.name === 'packaged-span') as FlatSpan;
      assert.equal(span.name, 'packaged-span');
      assert.equal(span.kind, 3, 'SPAN_KIND_CLIENT');
      assert.deepEqual(attrs(span.attributes), { 'order.id': 'A-1', 'order.items': '3', paid: true });
      assert.equal(span.resource['service.name'], 'package-node');
      assert.equal(span.resource['telemetry.sdk.language'], 'nodejs', 'the node entry, not the neutral one');
      assert.match(span.traceId, /^[0-9a-f]{32}$/);
      assert.notEqual(span.traceId, '0'.repeat(32));
    } finally {
      await c.close();
    }
  });

  test('Node: wasmtrace/worker does not load, on its `import … from \'./wasmtrace.wasm\'` (workerd\'s form)', async () => {
    // Recorded as it is: the worker entry is for workerd and bundlers with a Wasm-module rule
    // (checked in workerd below). Node 20 refuses the .wasm extension; Node 22 instantiates
    // the module and finds no default export.
    writeFileSync(join(consumer, 'worker-in-node.mjs'), `
      try { await import('wasmtrace/worker'); console.log('loaded'); }
      catch (e) { console.log(e.code, e.message); }
    `);
    const r = await run(process.execPath, ['worker-in-node.mjs'], consumer);
    assert.equal(r.code, 0, r.stderr);
    assert.notEqual(r.stdout.trim(), 'loaded', 'wasmtrace/worker loads in Node now: check its exports here instead');
    assert.match(r.stdout, /wasmtrace\.wasm/, 'it fails on the Wasm import, not on something else');
  });

  test('workerd: wasmtrace/worker, bundled as wrangler does (the Wasm as a CompiledWasm module), exports a request\'s span', async () => {
    const edge = join(consumer, 'edge');
    mkdirSync(edge, { recursive: true });
    writeFileSync(join(edge, 'src.mjs'), `
      import { instrument, getSpan, getTracer } from 'wasmtrace/worker';
      export default instrument({
        async fetch(request) {
          getSpan(request)?.setAttribute('cart.id', 'C-9');
          return new Response([instrument, getSpan, getTracer].map((f) => typeof f).join());
        },
      }, (env) => ({ serviceName: 'package-edge', endpoint: env.OTLP }));
    `);
    // wrangler's conditions; its CompiledWasm rule keeps each .wasm import a module of its own.
    await esbuild.build({
      absWorkingDir: edge, entryPoints: ['src.mjs'], outfile: 'out/worker.js', bundle: true, format: 'esm',
      platform: 'neutral', conditions: ['workerd', 'worker', 'browser'], external: ['*.wasm'], logLevel: 'silent',
    });
    copyFileSync(installed('dist', 'wasmtrace.wasm'), join(edge, 'out', 'wasmtrace.wasm'));
    const c = await startCollector();
    const mf = new Miniflare({
      modulesRoot: join(edge, 'out'),
      modules: [
        { type: 'ESModule', path: join(edge, 'out', 'worker.js') },
        { type: 'CompiledWasm', path: join(edge, 'out', 'wasmtrace.wasm') },
      ],
      compatibilityDate: '2025-09-01',
      bindings: { OTLP: c.url },
    });
    try {
      const res = await mf.dispatchFetch('http://shop.example/cart');
      assert.equal(await res.text(), 'function,function,function');
      await c.waitFor(() => c.spans().length > 0);
      const [span] = c.spans() as [FlatSpan];
      assert.equal(span.kind, 2, 'SPAN_KIND_SERVER');
      assert.equal(attrs(span.attributes)['cart.id'], 'C-9');
      assert.equal(span.resource['service.name'], 'package-edge');
    } finally {
      await mf.dispose();
      await c.close();
    }
  });

  describe('types', () => {
    const APP = `
      import { init, SpanKind, SpanStatusCode, type InitOptions, type Span, type Tracer } from 'wasmtrace';
      import { init as initCore, type WasmSource } from 'wasmtrace/core';
      import { init as initBrowser, type BrowserInitOptions } from 'wasmtrace/browser';
      import { instrument, getSpan, getTracer, type WorkerConfig } from 'wasmtrace/worker';
      import type { Attributes as OtelAttributes, SpanContext as OtelSpanContext } from '@opentelemetry/api';

      const options: InitOptions = { serviceName: 'svc', sampler: { ratio: 0.5, keepErrors: true }, compression: 'gzip' };
      const tracer: Tracer = await init(options);
      const span: Span = tracer.startSpan('op', { kind: SpanKind.CLIENT, attributes: { 'a.b': 1, ok: true, tags: ['x'] } });
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'failed' });
      span.end();
      const flushed: { sent: number; queued: number; dropped: number } = await tracer.flush();
      // OpenTelemetry's shapes: arrays with null/undefined elements, a context whose traceState is a TraceState object.
      declare const otelContext: OtelSpanContext;
      declare const otelAttributes: OtelAttributes;
      span.setAttribute('tags', ['a', null, 'b']).setAttributes(otelAttributes);
      tracer.startSpan('child', { links: [{ context: otelContext }] }, otelContext).addLink({ context: otelContext }).end();
      tracer.inject({}, otelContext);
      tracer.withSpan(otelContext, () => undefined);
      const traceState: string | undefined = span.spanContext().traceState;
      // service.name from the environment or the resource: no serviceName needed.
      void init({ resource: { 'service.name': traceState ?? 'billing' } });
      void init({});
      const wasm: WasmSource = new Uint8Array(8);
      void initCore({ serviceName: 'core', wasm });
      const page: BrowserInitOptions = { serviceName: 'web', instrumentations: { longTasks: false } };
      void initBrowser(page);
      const config = (env: { OTLP: string }): WorkerConfig => ({ serviceName: 'edge', endpoint: env.OTLP });
      export default instrument({
        async fetch(request: Request, env: { OTLP: string }) {
          getSpan(request)?.setAttribute('http.route', '/x');
          return new Response(String(getTracer() !== undefined) + env.OTLP + flushed.sent);
        },
      }, config);
    `;
    // Each line is a type error tsc must report (line numbers are checked).
    const BAD = [
      `import { init } from 'wasmtrace';`,
      `const tracer = await init({ serviceName: 'svc' });`,
      `tracer.startSpan(42);`,
      `await init({ serviceName: 'svc', sampler: { ratio: 'all' } });`,
      `const mixed = ['x', 1]; tracer.startSpan('mixed').setAttribute('a', mixed);`,
      `tracer.startSpan('c', {}, { traceId: 'a', spanId: 'b', traceFlags: 1, traceState: 42 });`,
      `await init({ serviceName: 7 });`,
      `export {};`,
    ].join('\n');
    const BAD_LINES = [3, 4, 5, 6, 7];

    interface Config { name: string; module: string; moduleResolution: string; lib: string[]; types: string[] }
    const tsc = async ({ name, module, moduleResolution, lib, types }: Config, files: string[]): Promise<Run> => {
      writeFileSync(join(consumer, `tsconfig.${name}.json`), JSON.stringify({
        compilerOptions: {
          module, moduleResolution, target: 'ES2022', lib, types, strict: true, noEmit: true, skipLibCheck: false,
          noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true, verbatimModuleSyntax: true,
        },
        files,
      }));
      return run(process.execPath, [join(consumer, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', `tsconfig.${name}.json`, '--listFiles'], consumer, 180_000);
    };
    /** `file(line,col): error TSnnnn` lines of tsc's output. */
    const errors = (r: Run): string[] => r.stdout.split('\n').filter((l) => /: error TS\d+/.test(l));

    // A Node project (@types/node) and a browser app (no @types/node), both with lib DOM;
    // and the Node project without lib DOM below.
    const configs = [
      { name: 'nodenext', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022', 'DOM'], types: ['node'], main: 'dist/types/src/node.d.ts' },
      { name: 'bundler', module: 'ESNext', moduleResolution: 'Bundler', lib: ['ES2022', 'DOM'], types: [], main: 'dist/types/src/browser/index.d.ts' },
    ];
    /**
     * tsc runs by config name, started together (2-3 s of CPU each). One program holds
     * app.ts and bad.ts: every error must be one of bad.ts's, on the lines expected.
     */
    const runs = new Map<string, Promise<Run>>();
    before(() => {
      writeFileSync(join(consumer, 'app.ts'), APP);
      writeFileSync(join(consumer, 'bad.ts'), BAD);
      for (const c of configs) runs.set(c.name, tsc(c, ['app.ts', 'bad.ts']));
      runs.set('nodenext-nodom', tsc({ ...configs[0]!, name: 'nodenext-nodom', lib: ['ES2022'] }, ['app.ts']));
    });

    for (const c of configs) {
      test(`a strict consumer type-checks with the packed types (${c.module}/${c.moduleResolution}, skipLibCheck false)`, async () => {
        const r = await runs.get(c.name)!;
        assert.deepEqual(errors(r).filter((l) => !l.startsWith('bad.ts(')), [], r.stdout + r.stderr);
        const listed = r.stdout.split('\n');
        assert.ok(listed.includes(installed(c.main)), `tsc did not read ${c.main} of the installed package`);
        assert.ok(listed.includes(installed('dist/types/worker/index.d.ts')));
        assert.ok(!listed.some((l) => l.startsWith(join(root, 'dist')) || l.startsWith(join(root, 'src'))), 'read the repository instead of the package');
      });

      test(`a type error in the consumer fails the check (${c.moduleResolution})`, async () => {
        const r = await runs.get(c.name)!;
        assert.equal(r.code, 2, r.stdout + r.stderr);
        const lines = errors(r).map((l) => /^bad\.ts\((\d+),\d+\)/.exec(l)?.[1]).map(Number);
        assert.deepEqual(lines, BAD_LINES, r.stdout);
      });
    }

    // The declarations name no WebAssembly type (only lib.dom declares that namespace).
    test('a Node consumer without lib DOM type-checks (NodeNext, lib ES2022 + @types/node)', async () => {
      const r = await runs.get('nodenext-nodom')!;
      assert.deepEqual(errors(r), []);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    });
  });

  describe('bundled by esbuild for a page, in Chromium', () => {
    let browser: PlaywrightBrowser;
    /** The bundle's directory: app.js, index.html, and (copied) wasmtrace.wasm. */
    let withWasm = '';
    /** The same bundle with the Wasm not copied. */
    let withoutWasm = '';

    before(async () => {
      const web = join(consumer, 'web');
      mkdirSync(web, { recursive: true });
      writeFileSync(join(web, 'app.js'), `
        import { init, SpanKind } from 'wasmtrace';
        window.result = (async () => {
          const endpoint = new URLSearchParams(location.search).get('endpoint');
          const tracer = await init({ serviceName: 'package-web', endpoint, scheduledDelayMs: 3600000 });
          const span = tracer.startSpan('bundled-span', { kind: SpanKind.CLIENT, attributes: { 'cart.items': 2, 'cart.currency': 'EUR' } });
          span.end();
          const flushed = await tracer.flush();
          return { traceId: span.spanContext().traceId, flushed, fetchNative: String(window.fetch).includes('[native code]') };
        })();
      `);
      const built = await esbuild.build({
        absWorkingDir: consumer, entryPoints: ['web/app.js'], outfile: 'web/out/app.js',
        bundle: true, format: 'esm', platform: 'browser', target: 'es2022', metafile: true, logLevel: 'silent',
      });
      assert.deepEqual(built.errors, []);
      assert.ok(`node_modules/${manifest.name}/dist/browser.js` in built.metafile.inputs,
        `esbuild took ${Object.keys(built.metafile.inputs).filter((p) => p.includes(manifest.name))}, not the browser build`);
      const page = '<!doctype html><title>package</title><script type="module" src="/app.js"></script>';
      withWasm = join(web, 'with-wasm');
      withoutWasm = join(web, 'without-wasm');
      for (const dir of [withWasm, withoutWasm]) {
        mkdirSync(dir);
        copyFileSync(join(web, 'out', 'app.js'), join(dir, 'app.js'));
        writeFileSync(join(dir, 'index.html'), page);
      }
      // What an esbuild user must do: the Wasm beside the bundle (esbuild leaves new URL(…, import.meta.url) alone).
      copyFileSync(installed('dist', 'wasmtrace.wasm'), join(withWasm, 'wasmtrace.wasm'));
      browser = await launchChromium();
    });
    after(() => browser?.close());

    /** Loads `dir`'s page with a collector on another port; resolves to what the app returned and what the page said. */
    async function load(dir: string, c: Collector) {
      const site = await startStaticServer(dir);
      const page = await browser.newPage();
      const pageErrors: string[] = [];
      const warnings: string[] = [];
      page.on('pageerror', (e) => pageErrors.push(e.message));
      page.on('console', (m) => { if (m.text().includes('[wasmtrace]')) warnings.push(`${m.type()}: ${m.text()}`); });
      try {
        await page.goto(`${site.url}?endpoint=${encodeURIComponent(c.url)}`);
        const result = (await page.evaluate('window.result')) as { traceId: string; flushed: { sent: number; dropped: number }; fetchNative: boolean };
        return { result, pageErrors, warnings, wasmRequests: site.requests.filter((r) => r.path.endsWith('.wasm')).length };
      } finally {
        await page.close();
        await site.close();
      }
    }

    test('with the Wasm copied beside the bundle, a span reaches a cross-origin collector', async () => {
      const c = await startCollector({ cors: { origins: '*' } });
      try {
        const { result, pageErrors, warnings, wasmRequests } = await load(withWasm, c);
        assert.deepEqual(pageErrors, []);
        assert.deepEqual(warnings, []);
        assert.equal(wasmRequests, 1);
        assert.match(result.traceId, /^[0-9a-f]{32}$/);
        assert.notEqual(result.traceId, '0'.repeat(32));
        assert.ok(result.flushed.sent >= 1 && result.flushed.dropped === 0, JSON.stringify(result.flushed));
        await c.waitFor(() => c.spans().some((s) => s.name === 'bundled-span'));
        const span = c.spans().find((s) => s.name === 'bundled-span')!;
        assert.equal(span.traceId, result.traceId);
        assert.equal(span.kind, 3, 'SPAN_KIND_CLIENT');
        assert.deepEqual(attrs(span.attributes), { 'cart.items': '2', 'cart.currency': 'EUR' });
        assert.equal(span.resource['service.name'], 'package-web');
        assert.equal(span.resource['telemetry.sdk.language'], 'webjs');
        assert.equal(result.fetchNative, false, 'the browser build\'s fetch instrumentation is installed');
      } finally {
        await c.close();
      }
    });

    test('without the Wasm, init() resolves to a tracer that records nothing, warns once and throws nothing', async () => {
      const c = await startCollector({ cors: { origins: '*' } });
      try {
        const { result, pageErrors, warnings, wasmRequests } = await load(withoutWasm, c);
        assert.deepEqual(pageErrors, []);
        assert.equal(wasmRequests, 1, 'it asked for wasmtrace.wasm beside the bundle');
        assert.equal(warnings.length, 1, warnings.join('\n'));
        assert.match(warnings[0]!, /^warning: \[wasmtrace\] tracing is off: .*wasmtrace\.wasm.* 404/);
        assert.equal(result.traceId, '0'.repeat(32), 'a no-op span');
        assert.deepEqual([result.flushed.sent, result.flushed.dropped], [0, 0]);
        assert.equal(result.fetchNative, true, 'nothing instrumented');
        assert.equal(c.requests.length, 0);
      } finally {
        await c.close();
      }
    });
  });
});

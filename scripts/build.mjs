// Builds everything the package ships into dist/: the Wasm modules (asc) and
// the JavaScript bundles (esbuild). Each target says what it produces; add new
// targets to the lists below.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
mkdirSync(dist, { recursive: true });

/** Writes `file` (in the repository) when its text differs, so a build that changes nothing touches nothing. */
function generated(file, text) {
  const path = join(root, file);
  if (!existsSync(path) || readFileSync(path, 'utf8') !== text) writeFileSync(path, text);
}

// The package version, reported as telemetry.sdk.version and the scope version,
// is package.json's: written here into the TypeScript and the AssemblyScript
// sources (a WASI program compiles assembly/ itself, so it is source there too).
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const GENERATED = '// Written by scripts/build.mjs from package.json\'s version: edit that, then build.\n';
generated('src/version.ts', `${GENERATED}export const VERSION = '${version}';\n`);
const hex = (bytes) => bytes.map((b) => `0x${b.toString(16).padStart(2, '0')}`).join(', ');
/** A protobuf string field (its length one byte); a version that could not go in the literals below is refused. */
function field(n, text) {
  if (!/^[\w.+-]{1,127}$/.test(text)) throw new Error(`build: "${text}" is not a short semver string`);
  return [(n << 3) | 2, text.length, ...Buffer.from(text, 'ascii')];
}
const scopeProto = [...field(1, 'wasmtrace'), ...field(2, version)];
generated('assembly/core/scope.ts', `${GENERATED}// The instrumentation scope every span is reported under, "wasmtrace" at that
// version, ready-made for each encoder (a test compares the two encoders'
// output field by field).

/** The SDK's version (telemetry.sdk.version of the WASI library); @lazy: only modules that use it hold it. */
@lazy export const SCOPE_VERSION = "${version}";

/** The protobuf InstrumentationScope message: name (field 1) and version (field 2), ASCII. */
@lazy export const SCOPE_PROTO: usize = memory.data<u8>([${hex(scopeProto)}]);
@lazy export const SCOPE_PROTO_SIZE: i32 = ${scopeProto.length};

/** The JSON encoder's text from the resource to the first span, with the scope in it: one literal, one write. */
@inline export function scopeJson(): string {
  return '},"scopeSpans":[{"scope":{"name":"wasmtrace","version":"${version}"},"spans":[';
}
`);

/** AssemblyScript entries → .wasm files in dist/. */
export const wasmTargets = [
  // `opt`: a second Binaryen pass after asc's (see below).
  { entry: 'assembly/host/proto.ts', out: 'wasmtrace.wasm', opt: true },
  { entry: 'assembly/host/json.ts', out: 'wasmtrace-json.wasm', opt: true },
  // The demo WASI job (docs/wasi.md): a WASI command with a garbage collector.
  { entry: 'demo/wasi-job/main.ts', out: 'demo-wasi.wasm', options: wasiOptions() },
  { entry: 'demo/wasi-job/lines.ts', out: 'demo-wasi-lines.wasm', options: wasiOptions() },
];

function wasiOptions() {
  return ['--runtime', 'incremental', '--exportStart', '_start', '--initialMemory', '24', '--maximumMemory', '64'];
}

/**
 * web-vitals' attribution build runs code at its module's top level: it
 * observes Resource Timing entries (for LCP's attribution). In the script tag
 * every module is evaluated with the file, before the first paint and for a
 * `data-disabled` tag too, which must create no observer. This esbuild plugin
 * puts the package's body in a function run at the first `onX` call (the
 * tag's first task after the first paint), as its own evaluation was when
 * the tag imported start.ts dynamically. It expects the file to end in one
 * `export{…}` list and stops the build when it does not.
 */
function lazyWebVitals() {
  return {
    name: 'lazy-web-vitals',
    setup(build) {
      build.onLoad({ filter: /[\\/]web-vitals[\\/]dist[\\/]web-vitals\.attribution\.js$/ }, ({ path }) => {
        const code = readFileSync(path, 'utf8').replace(/\n\/\/# sourceMappingURL=.*\s*$/, '');
        const list = /export\{([^}]*)\};?\s*$/.exec(code);
        if (!list || code.lastIndexOf('export', list.index - 1) !== -1) {
          throw new Error(`build: ${path} does not end in its only export list; see lazyWebVitals in scripts/build.mjs`);
        }
        const names = list[1].split(',').map((n) => n.trim().split(/\s+as\s+/));
        const body = `${code.slice(0, list.index)}return{${names.map(([local, name]) => `${name}:${local}`).join(',')}}`;
        const exports = names.map(([, name]) => `export const ${name}=(...a)=>load().${name}(...a);`).filter((e) => / on[A-Z]/.test(e));
        return { contents: `let m;const load=()=>m??=(()=>{${body}})();\n${exports.join('\n')}\n`, loader: 'js' };
      });
    },
  };
}

/** TypeScript entries → bundles in dist/ (ESM unless `format` says otherwise). */
export const jsTargets = [
  { entry: 'src/index.ts', out: 'index.js', platform: 'neutral' },
  { entry: 'src/node.ts', out: 'node.js', platform: 'node' },
  { entry: 'src/browser/index.ts', out: 'browser.js', platform: 'browser' },
  // The magic comment is V8's explicit compile hint (Chromium 136+): every function of
  // the file is compiled on a background thread while it loads, not lazily on the main
  // thread at first call (-40 % of the SDK's main-thread time per load, bench/pageload.mjs).
  // One file evaluated at once (script.ts imports start.ts statically): web-vitals' body waits for its first call.
  { entry: 'src/browser/script.ts', out: 'wasmtrace.js', platform: 'browser', format: 'iife', minify: true,
    options: { banner: { js: '//# allFunctionsCalledOnLoad' }, plugins: [lazyWebVitals()] } },
  // Workers import Wasm as a module: the .wasm stays a separate file beside it.
  { entry: 'worker/index.ts', out: 'worker.js', platform: 'neutral', minify: true, external: ['*.wasm'] },
];

const asc = join(root, 'node_modules', '.bin', 'asc');
// Binaryen's wasm-opt (the binaryen package asc itself uses) run again over asc's
// release output at -O4 -Oz until it stops shrinking: the hot-path module came out
// 74 B smaller brotli and 5-10 % faster per call (bench/breakdown.mjs raw figures).
// The features are the ones asc's output uses (Wasm MVP + these; no SIMD).
// The reorder passes only renumber functions, globals and locals by use (the
// most used get the shortest indexes): 9 B brotli off the hot-path module.
const wasmOpt = join(root, 'node_modules', 'binaryen', 'bin', 'wasm-opt');
const REORDER = ['--reorder-functions', '--reorder-globals', '--reorder-locals'];
const WASM_FEATURES = ['--enable-bulk-memory', '--enable-bulk-memory-opt', '--enable-sign-ext', '--enable-mutable-globals', '--enable-nontrapping-float-to-int'];
for (const t of wasmTargets) {
  const out = join(dist, t.out);
  execFileSync(asc, [t.entry, '--config', 'asconfig.json', '--target', t.target ?? 'release', '-o', out, ...(t.options ?? [])], {
    cwd: root,
    stdio: 'inherit',
  });
  if (t.opt) execFileSync(process.execPath, [wasmOpt, out, '-O4', '-Oz', '--converge', ...REORDER, ...WASM_FEATURES, '-o', out], { cwd: root, stdio: 'inherit' });
}

// Private fields start with `_` so the minifier may rename them (STYLE.md).
export const mangle = /^_/;

await Promise.all(
  jsTargets.map((t) =>
    esbuild.build({
      entryPoints: [join(root, t.entry)],
      outfile: join(dist, t.out),
      bundle: true,
      format: t.format ?? 'esm',
      platform: t.platform ?? 'neutral',
      target: 'es2022',
      minify: t.minify ?? false,
      mangleProps: mangle,
      external: t.external ?? [],
      sourcemap: false,
      logLevel: 'warning',
      ...(t.options ?? {}),
    }),
  ),
);

// Type declarations for the public entries (dist/types/), from strict TypeScript.
execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });

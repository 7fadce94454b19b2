// Node: the SDK throws nothing of its own while it traces and exports, not
// even an exception it catches itself (each costs a stack trace; a page's
// first costs Chromium 1-3 ms: docs/performance.md, "No exceptions"). V8's
// --print-all-exceptions names the script of every throw; a child Node
// traces, nests, injects/extracts and exports in protobuf and OTLP/JSON to
// collectors answering each of the ways a success can come (empty, `{}`,
// another format's body, 204 with none; a proxy's cut JSON, and a body past
// the read bound), and shuts down. The browsers' side:
// test/e2e/no-exceptions.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SUCCESS_ANSWERS, startCollector, type Reply } from '../helpers/collector.js';

/**
 * 2xx answers no collector gives, which a proxy may: OTLP/JSON cut off after
 * its first `{`, and a body past the 4 MiB the SDK reads of one (send.ts
 * MAX_RESPONSE_BYTES). Each is a success that says nothing more.
 */
const ODD_ANSWERS: readonly (readonly [string, Reply])[] = [
  ['200, cut JSON', { body: '{"partialSuccess":{"rejectedSpans":"1', headers: { 'content-type': 'application/json' } }],
  ['200, past 4 MiB', { body: new Uint8Array((4 << 20) + 1).fill(0x20) }],
];

const NODE_JS_URL = new URL('../../dist/node.js', import.meta.url);
const NODE_JS = fileURLToPath(NODE_JS_URL);

/** The child: per endpoint and protocol, 5 spans (nested, injected, extracted), flushed; prints the flush results. */
const CHILD = `
const { init } = await import(${JSON.stringify(NODE_JS)});
const out = [];
for (const [endpoint, protocol] of JSON.parse(process.env.CASES)) {
  const tracer = await init({ serviceName: 'no-exceptions', endpoint, protocol });
  await tracer.startActiveSpan('outer', async (outer) => {
    const headers = {};
    tracer.inject(headers);
    tracer.extract(headers);
    for (let i = 0; i < 3; i++) tracer.startSpan('inner', { attributes: { i, s: 'x', b: true, a: [1, 2] } }).end();
    await new Promise((r) => setTimeout(r, 1));
    outer.addEvent('e', { k: 'v' });
    outer.end();
  });
  tracer.startSpan('last').end();
  out.push((await tracer.flush()).sent);
  await tracer.shutdown();
}
console.log(JSON.stringify(out));
`;

/**
 * The throws V8 printed (--print-all-exceptions, on stdout) whose innermost
 * JavaScript frame with a script is in `script`: a builtin that throws (JSON.parse)
 * counts for its caller. Each as "function script:line".
 */
function thrownIn(printed: string, script: string): string[] {
  const out: string[] = [];
  for (const block of printed.split('Exception thrown:').slice(1)) {
    const stack = block.split('==== JS stack trace')[1]?.split('==== Details')[0] ?? '';
    const frame = /^\s+\d+: ([^\s(]+).*\[([^\]\s]+):~?(\d+)\]/m.exec(stack);
    if (frame && frame[2] === script) out.push(`${frame[1]} ${frame[2]}:${frame[3]}`);
  }
  return out;
}

test('Node: no exception is thrown in dist/node.js while tracing and exporting (protobuf and JSON, 4 kinds of success answer, a cut JSON one and one past the read bound)', async (t) => {
  const cases: [string, string][] = [];
  for (const [, reply] of [...SUCCESS_ANSWERS, ...ODD_ANSWERS]) {
    const c = await startCollector({ respond: () => reply });
    t.after(() => c.close());
    for (const protocol of ['http/protobuf', 'http/json']) cases.push([c.url, protocol]);
  }
  const stdout = await new Promise<string>((done, fail) => {
    execFile(process.execPath, ['--print-all-exceptions', '--input-type=module', '-e', CHILD],
      { timeout: 60_000, env: { CASES: JSON.stringify(cases) }, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => (err ? fail(new Error(`${err.message}\n${stderr.slice(-2000)}`)) : done(stdout)));
  });
  assert.deepEqual(JSON.parse(stdout.trim().split('\n').pop()!), cases.map(() => 5), 'every case exported its 5 spans');
  const ours = thrownIn(stdout, NODE_JS_URL.href);
  assert.deepEqual(ours, [], `exceptions thrown in dist/node.js (${cases.length} runs)`);
});

test('Node: a caught throw in a module, and JSON.parse throwing in it, are found by the same reading (the check above can fail)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmtrace-throws-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'probe.mjs');
  writeFileSync(file, 'export function reads(s) {\n  try { null.x; } catch {}\n  try { JSON.parse(s); } catch {}\n}\n');
  const stdout = await new Promise<string>((done, fail) => {
    execFile(process.execPath, ['--print-all-exceptions', '--input-type=module', '-e', `(await import(${JSON.stringify(pathToFileURL(file).href)})).reads('');`],
      { timeout: 20_000, env: {} }, (err, stdout) => (err ? fail(err) : done(stdout)));
  });
  const url = pathToFileURL(file).href;
  assert.deepEqual(thrownIn(stdout, url), [`reads ${url}:2`, `reads ${url}:3`]);
});

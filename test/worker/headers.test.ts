// Export headers a Worker cannot send: one fetch refuses (a name with a
// space, a value with a line break) made every export fail as a network
// error, retried and dropped with no warning; so did one workerd's fetch
// sends but no HTTP server takes (a name beyond the token characters, a
// control character in a value). Each is dropped with one warning naming it
// (never its value), as on pages, and the rest are sent. Generated header
// sets from OTEL_EXPORTER_OTLP_HEADERS, its TRACES_ variant and the config,
// in real workerd against a node:http collector.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type HeaderWorkers, startHeaderWorkers } from './harness.js';
import { prng } from '../../demo/collector/synthetic.mjs'; // mulberry32, seeded
import { VERSION } from '../../src/version.js';

const CASES = 24;

/** Text in a header name that fetch refuses or a server does; text in a value likewise. */
const BAD_NAME = [' ', '(', ':', '@', '"', '/', '{', '\t', 'é', '\u20ac', '\x01', '\x7f', '\u{1F600}'];
const BAD_VALUE = ['\n', '\r', '\0', '\x01', '\x1b', '\x7f'];

interface Case {
  good: Record<string, string>;
  bad: Record<string, string>;
  bindings: Record<string, string>;
}

const percent = (h: Record<string, string>): string => Object.entries(h).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join(',');

function makeCase(i: number, r: () => number): Case {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  // Each header comes from one of the three sources, with its own name: none overrides another.
  const from: Array<Record<string, string>> = [{}, {}, {}];
  const good: Record<string, string> = {};
  const bad: Record<string, string> = {};
  for (let j = 0, n = 2 + Math.floor(r() * 4); j < n; j++) {
    const name = `x-h${i}-${j}`;
    const kind = r();
    let k = name;
    let v = `v${j}-${Math.floor(r() * 1e6)}`;
    // Text beyond Latin-1 is good in a value: workerd sends it as UTF-8.
    if (kind < 0.15) v += pick(['\u20ac', '\u4e2d', 'é', '\u{1F600}']);
    if (kind < 0.4) good[k] = v;
    else if (kind < 0.7) bad[(k = `x-${pick(BAD_NAME)}h${i}-${j}`)] = v;
    else bad[k] = v = `k${pick(BAD_VALUE)}${j}`;
    from[Math.floor(r() * 3)]![k] = v;
  }
  if (i === 0) from[2]!['Content-Type'] = bad['Content-Type'] = 'text/plain'; // delivery's own says what the body is
  if (i % 3 === 1) from[i % 2 ? 1 : 2]!['User-Agent'] = good['User-Agent'] = `mine/${i}`; // the user's User-Agent wins over the exporter's
  const bindings: Record<string, string> = {};
  if (Object.keys(from[0]!).length) bindings.OTEL_EXPORTER_OTLP_HEADERS = percent(from[0]!);
  if (Object.keys(from[1]!).length) bindings.OTEL_EXPORTER_OTLP_TRACES_HEADERS = percent(from[1]!);
  if (Object.keys(from[2]!).length) bindings.HEADERS = JSON.stringify(from[2]);
  return { good, bad, bindings };
}

const rnd = prng(0x4ead);
const cases = Array.from({ length: CASES }, (_, i) => makeCase(i, rnd));

let w: HeaderWorkers;
before(async () => {
  w = await startHeaderWorkers('h', cases.map((c) => c.bindings));
});
after(() => w?.close());

test(`headers a Worker cannot send are dropped with one warning naming each; the rest are sent (${CASES} generated sets)`, async () => {
  for (let i = 0; i < CASES; i++) {
    const { good, bad, bindings } = cases[i]!;
    const what = `set ${i}: ${JSON.stringify(bindings)}`;
    assert.equal(await w.get(i, '/x'), 'ok');
    await w.collector.waitFor(() => !!w.exportOf(i), 15_000).catch(() => assert.fail(`${what}: no export arrived`));
    const got = w.exportOf(i)!.headers;
    assert.equal(got['content-type'], 'application/x-protobuf', what);
    // OTLP exporter.md, User Agent: exporters SHOULD name themselves, their language (runtime) and version.
    if (!good['User-Agent']) assert.equal(got['user-agent'], `wasmtrace/${VERSION} (Cloudflare Workers)`, `${what}: User-Agent`);
    for (const [k, v] of Object.entries(good)) assert.equal(Buffer.from(got[k.toLowerCase()] ?? '', 'latin1').toString(), v, `${what}: ${k} sent`);
    const warned = JSON.parse(await w.get(i, '/warnings')) as string[];
    for (const [k, v] of Object.entries(bad)) {
      assert.equal(warned.filter((w) => w === `bad header ${JSON.stringify(k)}; using none`).length, 1, `${what}: one warning names ${JSON.stringify(k)}: ${JSON.stringify(warned)}`);
      assert.ok(!warned.some((w) => w.includes(v)), `${what}: the value is not printed`);
    }
    assert.equal(warned.length, Object.keys(bad).length, `${what}: ${JSON.stringify(warned)}`);
  }
});

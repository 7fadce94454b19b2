// propagateTo and redactQuery given as one value alone (a string, a RegExp),
// as README's option table allows and plain-JS Worker configs often do: a
// list of one, as in pages. Before, one string or RegExp in propagateTo
// threw inside the fetch wrapper (`some` of a string) and no outgoing fetch
// got traceparent, silently; one redactQuery key redacted nothing. Another
// value warns once and the default is used. Generated configs in real
// workerd: the upstream's headers and the exported url.full say what was done.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Miniflare } from 'miniflare';
import { startCollector, type Collector } from '../helpers/collector.js';
import { attrs } from '../helpers/otlp.js';
import { fixture, startUpstream, startWorkers, type Upstream } from './harness.js';
import { prng } from '../../demo/collector/synthetic.mjs'; // mulberry32, seeded

const CASES = 20;
const BAD = [42, true, false, { a: 1 }, 0];

interface Call {
  path: string;
  query: string;
  /** Whether the upstream gets traceparent. */
  propagated: boolean;
  /** url.full of the CLIENT span (its origin added), and of the SERVER span. */
  client: string;
  server: string;
}

interface Case {
  bindings: Record<string, string>;
  calls: Call[];
  warnings: string[];
  /** How each option was given. */
  kinds: string[];
}

function makeCase(i: number, r: () => number, upstream: string): Case {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const bindings: Record<string, string> = {};
  const warnings: string[] = [];
  // propagateTo: URLs under /p<i>/ match a rule; /q<i>/ and the sibling /p<i>x/ do not.
  const string = `${upstream}/p${i}`;
  const regexp = { re: `^http://127\\.0\\.0\\.1:\\d+/p${i}/` };
  // null is unset too (as pages read it): no warning, the default.
  const to = pick(['string', 'regexp', 'array', 'bad', 'unset', 'null'] as const);
  const rule = { string, regexp, array: r() < 0.5 ? [`${upstream}/zz`, pick([string, regexp])] : [pick([string, regexp])], bad: pick(BAD), unset: undefined, null: null }[to];
  if (rule !== undefined) bindings.PROPAGATE = JSON.stringify(rule);
  if (to === 'bad') warnings.push(`bad propagateTo ${String(rule)}; using every URL`);
  // redactQuery: k<i> named alone or in a list, every key, or a bad value (the signature keys only).
  const key = `k${i}`;
  const redact = pick(['string', 'array', 'true', 'bad', 'unset', 'null'] as const);
  const given = { string: key, array: [key], true: true, bad: pick(BAD.filter((b) => typeof b !== 'boolean')), unset: undefined, null: null }[redact];
  if (given !== undefined) bindings.REDACT = JSON.stringify(given);
  if (redact === 'bad') warnings.push(`bad redactQuery ${String(given)}; using signature keys`);
  const calls = Array.from({ length: 3 }, (_, j): Call => {
    const where = pick(['p', 'q', 'sibling'] as const);
    const path = `/${where === 'q' ? 'q' : 'p'}${i}${where === 'sibling' ? 'x' : ''}/c${j}`;
    const values = { [key]: `s${Math.floor(r() * 1e6)}`, keep: `v${j}`, sig: 'x' };
    const query = Object.entries(values).map(([k, v]) => `${k}=${v}`).join('&');
    const shown = Object.entries(values)
      .map(([k, v]) => `${k}=${redact === 'true' || k === 'sig' || (k === key && (redact === 'string' || redact === 'array')) ? 'REDACTED' : v}`)
      .join('&');
    return { path, query, propagated: to === 'bad' || to === 'unset' || to === 'null' || where === 'p', client: `${upstream}${path}?${shown}`, server: `http://l${i}.example${path}?${shown}` };
  });
  return { bindings, calls, warnings, kinds: [`propagateTo ${to}`, `redactQuery ${redact}`] };
}

let collector: Collector;
let upstream: Upstream;
let mf: Miniflare;
let cases: Case[] = [];

before(async () => {
  collector = await startCollector();
  upstream = await startUpstream();
  const rnd = prng(0x11575);
  cases = Array.from({ length: CASES }, (_, i) => makeCase(i, rnd, upstream.url));
  mf = startWorkers(
    cases.map((c, i) => ({
      name: `l${i}`,
      routes: [`l${i}.example/*`],
      scriptPath: fixture('lists.mjs'),
      bindings: { UPSTREAM: upstream.url, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: collector.url, OTEL_SERVICE_NAME: `l${i}`, ...c.bindings },
    })),
  );
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
  await upstream?.close();
  await collector?.close();
});

test(`propagateTo and redactQuery: one string or RegExp is a list of one, another value warns and gives the default (${CASES} generated configs)`, async () => {
  assert.equal(new Set(cases.flatMap((c) => c.kinds)).size, 12, 'every form of each option is generated');
  for (let i = 0; i < CASES; i++) {
    const { bindings, calls, warnings } = cases[i]!;
    const what = `config ${i}: ${JSON.stringify(bindings)}`;
    for (const c of calls) {
      const got = (await (await mf.dispatchFetch(`http://l${i}.example${c.path}?${c.query}`)).json()) as { traceparent: string | null };
      assert.equal(got.traceparent !== null, c.propagated, `${what}: ${c.path} ${c.propagated ? 'gets' : 'does not get'} traceparent`);
    }
    const spans = () => collector.spans().filter((s) => s.resource['service.name'] === `l${i}`);
    await collector.waitFor(() => spans().length === 2 * calls.length, 15_000).catch(() => assert.fail(`${what}: ${spans().length} spans exported`));
    const full = (kind: number) => spans().filter((s) => s.kind === kind).map((s) => attrs(s.attributes)['url.full']).sort();
    assert.deepEqual(full(3), calls.map((c) => c.client).sort(), `${what}: CLIENT url.full`);
    assert.deepEqual(full(2), calls.map((c) => c.server).sort(), `${what}: SERVER url.full`);
    // The SERVER span's url.query (semconv: Conditionally Required) is redacted alike; server.port the default.
    const server = spans().filter((s) => s.kind === 2).map((s) => attrs(s.attributes));
    assert.deepEqual(server.map((a) => `http://l${i}.example${a['url.path']}?${a['url.query']}`).sort(), calls.map((c) => c.server).sort(), `${what}: SERVER url.query`);
    assert.deepEqual(new Set(server.map((a) => a['server.port'])), new Set(['80']), `${what}: SERVER server.port`);
    assert.deepEqual(await (await mf.dispatchFetch(`http://l${i}.example/warnings`)).json(), warnings, what);
  }
});

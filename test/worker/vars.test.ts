// wrangler passes [vars] TOML booleans and numbers as such (OTEL_SDK_DISABLED
// = true is a boolean binding, OTEL_BSP_SCHEDULE_DELAY = 0 a number): each
// setting read from them behaves as its text form would, with the same
// warnings; a var of another type (an object) is ignored with a warning
// naming it. Generated envs, each run beside its all-text twin, in workerd.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Miniflare } from 'miniflare';
import { heldStill, startCollector, type Collector } from '../helpers/collector.js';
import { attrs, type FlatSpan } from '../helpers/otlp.js';
import { fixture, startWorkers } from './harness.js';
import { prng } from '../../demo/collector/synthetic.mjs'; // mulberry32, seeded

type Vars = Record<string, unknown>;

const pick = <T>(rnd: () => number, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;

/** Case `i`'s typed vars; the first cases make sure that each kind of setting is typed at least once. */
function typedVars(i: number, rnd: () => number): Vars {
  const v: Vars = {};
  if (i === 0 || rnd() < 0.3) v.OTEL_SDK_DISABLED = i === 0 || rnd() < 0.3;
  if (i === 1 || rnd() < 0.6) {
    v.OTEL_TRACES_SAMPLER = pick(rnd, ['traceidratio', 'parentbased_traceidratio']);
    v.OTEL_TRACES_SAMPLER_ARG = i === 1 ? 0 : pick(rnd, [0, 1, 1.0, 2, -1]);
  }
  if (i === 2 || rnd() < 0.6) v.OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT = pick(rnd, [2, 3, 5, 0, 1e9]);
  if (i === 2 || rnd() < 0.5) v.OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT = pick(rnd, [1, 4, 8]);
  if (i === 3 || rnd() < 0.5) v.OTEL_BSP_SCHEDULE_DELAY = pick(rnd, [0, 20, 50.5, -5, 99999]);
  if (i === 3 || rnd() < 0.5) v.OTEL_EXPORTER_OTLP_TIMEOUT = pick(rnd, [5000, 0, 2.5e3, 1e7]);
  if (i === 4 || rnd() < 0.4) v.OTEL_SERVICE_NAME = pick(rnd, [42, 7.5, true]);
  if (i === 5 || rnd() < 0.3) v.OTEL_EXPORTER_OTLP_HEADERS = pick(rnd, [{ 'x-key': 'k' }, ['x-key=k'], null]);
  if (i === 6 || rnd() < 0.3) v.BUCKET = { binding: 'not a var' }; // as a KV or R2 binding is: no warning
  return v;
}

/** The same vars as text, as `[vars]` with quoted values gives them; other types left out. */
const textVars = (v: Vars): Vars =>
  Object.fromEntries(Object.entries(v).flatMap(([k, x]) => (['number', 'boolean'].includes(typeof x) ? [[k, String(x)]] : [])));

const rnd = prng(0x7a25);
const CASES = Array.from({ length: 12 }, (_, i) => typedVars(i, rnd));

let collector: Collector;
let mf: Miniflare;

before(async () => {
  collector = await startCollector();
  mf = startWorkers(
    CASES.flatMap((v, i) =>
      (['typed', 'text'] as const).map((variant) => ({
        name: `${variant}${i}`,
        routes: [`${variant}${i}.example/*`],
        scriptPath: fixture('vars.mjs'),
        bindings: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: collector.url, OTEL_RESOURCE_ATTRIBUTES: `case=${i},variant=${variant}`, ...(variant === 'typed' ? v : textVars(v)) },
      })),
    ),
  );
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
  await collector?.close();
});

/** A span without what differs between runs and hosts. */
function comparable(s: FlatSpan) {
  const a = attrs(s.attributes);
  for (const k of ['url.full', 'server.address']) delete a[k];
  const { variant: _, ...resource } = s.resource;
  return JSON.stringify({ name: s.name, kind: s.kind, a, dropped: s.droppedAttributesCount, status: s.status, resource });
}

test('[vars] booleans and numbers configure as their text does; other types are ignored with a warning', async () => {
  const warnings: string[][] = [];
  for (const variant of ['typed', 'text']) {
    for (let i = 0; i < CASES.length; i++) {
      for (let n = 0; n < 3; n++) assert.equal(await (await mf.dispatchFetch(`http://${variant}${i}.example/x`)).text(), 'ok');
      warnings.push((await (await mf.dispatchFetch(`http://${variant}${i}.example/warnings`)).json()) as string[]);
    }
  }
  // Exports come after the longest delay (a warning's 100 ms default, or 50): wait until
  // no export came for 1 s (at least 1.5 s in all, at most 15 s on a loaded machine).
  await new Promise((r) => setTimeout(r, 500));
  await heldStill(collector, () => collector.requests.length, 1000, 15_000);
  const spans = (variant: string, i: number) =>
    collector
      .spans()
      .filter((s) => s.resource.case === String(i) && s.resource.variant === variant)
      .map(comparable)
      .sort();
  let traced = 0;
  for (let i = 0; i < CASES.length; i++) {
    const what = JSON.stringify(CASES[i]);
    const text = spans('text', i);
    assert.deepEqual(spans('typed', i), text, what);
    if (text.length) traced++;
    const objects = Object.entries(CASES[i]!)
      .filter(([k, x]) => k.startsWith('OTEL_') && typeof x === 'object')
      .map(([k]) => `bad ${k} (object); using the default`);
    assert.deepEqual(warnings[i], [...objects, ...warnings[CASES.length + i]!], what);
  }
  assert.ok(traced > 0 && traced < CASES.length, `some cases traced (${traced}), some not`);
});

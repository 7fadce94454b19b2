// Differential test: the page's history.pushState/replaceState calls, its
// event dispatches (the interactions instrumentation listens to them), and
// its uncaught errors and unhandled rejections, and a Resource Timing buffer
// size it sets (generated, seeded) give the
// app the same results, errors, events, `this` and order with the SDK
// (script tag, and init(); before ready and after) as without it; the
// wrapped functions keep their names and lengths (transparency-env.ts).
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { differences, run, startServers, VARIANTS, type Servers } from './transparency-env.js';
import { inBoth, pick, prng } from './net-env.js';

let s: Servers;
before(async () => (s = await startServers()));
after(() => s.close());

type R = () => number;

const historyCase = (r: R): Record<string, unknown> => ({
  kind: 'history',
  op: pick(r, ['pushState', 'replaceState']),
  args: pick(r, ['query', 'query', 'hash', 'path', 'nourl', 'undef', 'null', 'one', 'none', 'cross', 'bad', 'clone']),
  call: pick(r, ['direct', 'direct', 'direct', 'proto', 'badThis', 'detached']),
  back: r() < 0.2,
});

const PLACES = ['window', 'document', 'f', 'outer', 'target'] as const;
const eventCase = (r: R): Record<string, unknown> => {
  const type = pick(r, ['click', 'click', 'click', 'submit', 'keydown', 'app-event']);
  return {
    kind: 'event',
    type,
    target: type === 'submit' ? 'f' : pick(r, ['b', 'a', 'i', 'outer']),
    how: type === 'click' || type === 'submit' ? pick(r, ['dispatch', 'method']) : 'dispatch',
    bubbles: r() < 0.8,
    listeners: Array.from({ length: 1 + Math.floor(r() * 4) }, () => [pick(r, PLACES), r() < 0.4, pick(r, ['none', 'none', 'stop', 'stopNow', 'prevent', 'micro', 'promise', 'timer', 'throw'])]),
  };
};

const errorCase = (r: R): Record<string, unknown> => ({
  kind: 'error',
  how: pick(r, ['timer', 'reject', 'reject', 'late', 'async', 'listener']),
  value: pick(r, ['error', 'type', 'custom', 'string', 'undefined', 'null', 'number', 'object', 'getters', 'frozen']),
  onerror: pick(r, [undefined, 'true', 'false']),
  prevent: r() < 0.3,
});

const N = 60;
inBoth(`history, events and errors: what the app sees, without and with the SDK (${N} generated cases, before ready and after)`, async (d) => {
  const r = prng(16);
  const cases = [{ kind: 'shape' }, ...Array.from({ length: N }, () => pick(r, [historyCase, eventCase, eventCase, errorCase])(r))];
  // The Resource Timing buffer at a size the app chose: full, it stays that size.
  for (const size of [3, 12]) cases.splice(1 + Math.floor(r() * N), 0, { kind: 'buffer', size });
  const runs = [];
  for (const v of VARIANTS) runs.push(await run(d, s, v, 'page', cases));
  const [without, ...withSdk] = runs;
  const found: string[] = [];
  withSdk.forEach((w, j) => {
    const v = VARIANTS[j + 1];
    assert.equal(w.lateEarly, 0, `${v}: every early case ran before the SDK was ready`);
    found.push(...differences(without!, w, (i) => `${v} case ${i} ${JSON.stringify(cases[i])}`));
  });
  assert.equal(found.length, 0, `${found.length} differences:\n${found.slice(0, 40).join('\n')}`);
});

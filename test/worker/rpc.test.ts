// RPC through a traced service binding (a WorkerEntrypoint): methods,
// properties and RpcTargets reached through the instrumented env give what
// the plain env gives; only the binding's fetch is traced. In real workerd.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Miniflare } from 'miniflare';
import { startCollector, type Collector } from '../helpers/collector.js';
import { fixture, startWorkers } from './harness.js';
import { prng } from '../../demo/collector/synthetic.mjs'; // mulberry32, seeded

let collector: Collector;
let mf: Miniflare;

before(async () => {
  collector = await startCollector();
  const app = { scriptPath: fixture('rpc.mjs'), serviceBindings: { SVC: 'svc' } };
  mf = startWorkers([
    { name: 'traced', routes: ['traced.example/*'], ...app, bindings: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: collector.url, OTEL_SERVICE_NAME: 'rpc' } },
    { name: 'plain', routes: ['plain.example/*'], ...app, bindings: { PLAIN: '1' } },
    { name: 'svc', scriptPath: fixture('rpc-target.mjs') },
    { name: 'entry', routes: ['entry.example/*'], scriptPath: fixture('entrypoint.mjs'), bindings: { NAME: 'e1', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: collector.url } },
  ]);
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
  await collector?.close();
});

type Call = [string, ...unknown[]];

/** A structured-clonable value: nested arrays and objects of numbers, strings, booleans, null. */
function value(rnd: () => number, depth = 0): unknown {
  const k = Math.floor(rnd() * (depth > 2 ? 4 : 6));
  if (k === 0) return Math.floor(rnd() * 2000) - 1000;
  if (k === 1) return rnd().toString(36).slice(2, 2 + Math.floor(rnd() * 8));
  if (k === 2) return rnd() < 0.5;
  if (k === 3) return null;
  const n = Math.floor(rnd() * 4);
  if (k === 4) return Array.from({ length: n }, () => value(rnd, depth + 1));
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, value(rnd, depth + 1)]));
}

function calls(seed: number): Call[] {
  const rnd = prng(seed);
  const int = () => Math.floor(rnd() * 1000) - 500;
  const gen: Array<() => Call> = [
    () => ['add', int(), int()],
    () => ['echo', value(rnd)],
    () => ['join', Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => String(int())), rnd() < 0.5 ? ',' : '-'],
    () => ['counter', int(), int()],
    () => ['fail', `bad ${int()}`],
    () => ['answer'],
    () => ['config', rnd() < 0.5 ? 'region' : 'limits'],
    () => ['typeof', ['add', 'echo', 'answer', 'fetch', 'connect'][Math.floor(rnd() * 5)]!],
  ];
  return Array.from({ length: 12 }, () => gen[Math.floor(rnd() * gen.length)]!());
}

async function run(host: string, list: Call[]): Promise<unknown[]> {
  const res = await mf.dispatchFetch(`http://${host}.example/`, { method: 'POST', body: JSON.stringify(list) });
  assert.equal(res.status, 200, host);
  return (await res.json()) as unknown[];
}

test('RPC methods, properties and RpcTargets through the traced env give what the plain env gives', async () => {
  for (let seed = 1; seed <= 12; seed++) {
    const list = calls(seed);
    const plain = await run('plain', list);
    assert.ok(plain.some((r) => 'ok' in (r as object)), 'the plain worker answers');
    assert.deepEqual(await run('traced', list), plain, `seed ${seed}: ${JSON.stringify(list)}`);
  }
});

test("the binding's fetch is still traced", async () => {
  assert.deepEqual(await run('traced', [['fetch']]), [{ ok: true }]);
  assert.deepEqual(await run('plain', [['fetch']]), [{ ok: false }]);
});

test('instrument() given a WorkerEntrypoint class keeps it working, untraced, and says so', async () => {
  const res = await mf.dispatchFetch('http://entry.example/x');
  assert.deepEqual([res.status, await res.text()], [200, 'entry e1']);
  const warned = await (await mf.dispatchFetch('http://entry.example/warnings')).json();
  assert.deepEqual(warned, ['instrument() takes a handler object, not a class: it runs untraced']);
});

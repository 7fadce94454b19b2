// instrument(new MyHandler()): a handler object whose methods are its
// class's (on the prototype chain, not own properties) keeps every one —
// fetch, scheduled, queue, email, tail — each called with the instance as
// `this` (its private fields readable). Before, the copy instrument returned
// held own properties only: a class's email and tail handlers were gone (the
// runtime found none), and an own one was called on the copy (a private
// field threw). Generated class hierarchies, each handler own, on the class,
// on its parent, or absent, in real workerd, each handler triggered as the
// runtime does: scheduled and queue events, an email through miniflare's
// handler route, a tail through another Worker's `tails`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Miniflare } from 'miniflare';
import { root, startWorkers } from './harness.js';
import { prng } from '../../demo/collector/synthetic.mjs'; // mulberry32, seeded

const CASES = 8;
const HANDLERS = ['fetch', 'scheduled', 'queue', 'email', 'tail'] as const;
type Place = 'own' | 'B' | 'A' | 'none';
type Layout = Record<(typeof HANDLERS)[number], Place>;

/**
 * Each handler's place, over the cases: a seeded order of the places per
 * handler, repeated, so each handler is in each place in every 4 cases
 * (fetch, which reads the log, is never absent).
 */
function layouts(r: () => number): Layout[] {
  const shuffled = <T>(xs: T[]): T[] => xs.map((x) => [r(), x] as const).sort((a, b) => a[0] - b[0]).map(([, x]) => x);
  const orders = HANDLERS.map((h) => shuffled<Place>(h === 'fetch' ? ['own', 'B', 'A'] : ['own', 'B', 'A', 'none']));
  return Array.from({ length: CASES }, (_, i) => Object.fromEntries(HANDLERS.map((h, j) => [h, orders[j]![i % orders[j]!.length]!])) as Layout);
}

/**
 * class B extends A, instrumented as `new B()`. A handler records its name,
 * the private field of the class that defines it (an own one is made in B's
 * constructor) and what A's helper gives through `this`; fetch answers the
 * record, and records itself except for /log.
 */
function source(layout: Layout): string {
  const body = (name: string, field: string) =>
    `{ ${name === 'fetch' ? `if (new URL(arg.url).pathname !== '/log') ` : ''}log.push(['${name}', this.#${field}, this.helper()]);${name === 'fetch' ? ' return Response.json(log);' : ''} }`;
  const on = (place: Place, field: string) => HANDLERS.filter((h) => layout[h] === place).map((h) => `async ${h}(arg) ${body(h, field)}`).join('\n');
  const own = HANDLERS.filter((h) => layout[h] === 'own').map((h) => `this.${h} = async function (arg) ${body(h, 'b')};`).join('\n');
  return `
    import { instrument } from '../../../dist/worker.js';
    const log = [];
    class A {
      #a = 'A';
      helper() { return this.#a; }
      ${on('A', 'a')}
    }
    class B extends A {
      #b = 'B';
      constructor() { super(); ${own} }
      ${on('B', 'b')}
    }
    export default instrument(new B(), { serviceName: 'methods', endpoint: 'http://127.0.0.1:9/v1/traces' });
  `;
}

const RAW_EMAIL = 'From: a@example.com\r\nTo: b@example.com\r\nMessage-ID: <m1@example.com>\r\nSubject: hi\r\n\r\nbody\r\n';

let mf: Miniflare;
const cases = layouts(prng(0x3e7d));

before(async () => {
  const dist = (f: string) => join(root, 'dist', f);
  mf = startWorkers(
    cases.flatMap((layout, i) => [
      {
        name: `g${i}`,
        routes: [`g${i}.example/*`],
        modules: [
          { type: 'ESModule', path: join(root, 'test', 'worker', 'fixtures', `methods-${i}.mjs`), contents: source(layout) },
          { type: 'ESModule', path: dist('worker.js') },
          { type: 'CompiledWasm', path: dist('wasmtrace.wasm') },
        ],
      },
      // A Worker whose tail events go to g<i>.
      { name: `t${i}`, routes: [`t${i}.example/*`], script: 'export default { fetch: () => new Response("tailed") }', modules: true, tails: [`g${i}`] },
    ]),
    { unsafeTriggerHandlers: true },
  );
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
});

type Entry = [string, string, string];
const logOf = async (i: number) => (await (await mf.dispatchFetch(`http://g${i}.example/log`)).json()) as Entry[];

test(`instrument(instance): every handler, own or its class's, is kept and called on the instance (${CASES} generated layouts)`, async () => {
  for (let i = 0; i < CASES; i++) {
    const layout = cases[i]!;
    const what = `layout ${i}: ${JSON.stringify(layout)}`;
    const has = (h: string) => layout[h as keyof Layout] !== 'none';
    const w = await mf.getWorker(`g${i}`);
    if (has('scheduled')) assert.equal((await w.scheduled({ cron: '* * * * *' })).outcome, 'ok', what);
    if (has('queue')) assert.equal((await w.queue('jobs', [{ id: 'm1', timestamp: new Date(), body: 1, attempts: 1 }])).outcome, 'ok', what);
    if (has('email')) {
      const res = await mf.dispatchFetch(`http://g${i}.example/cdn-cgi/handler/email?from=a@example.com&to=b@example.com`, { method: 'POST', body: RAW_EMAIL });
      assert.equal(res.status, 200, `${what}: ${await res.text()}`);
    }
    if (has('tail')) {
      assert.equal(await (await mf.dispatchFetch(`http://t${i}.example/`)).text(), 'tailed');
      const deadline = Date.now() + 5000;
      while (!(await logOf(i)).some(([h]) => h === 'tail') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    }
    await mf.dispatchFetch(`http://g${i}.example/call`);
    const expected = HANDLERS.filter((h) => h !== 'fetch' && has(h)).concat('fetch').map((h): Entry => [h, layout[h] === 'A' ? 'A' : 'B', 'A']);
    assert.deepEqual(await logOf(i), expected, what);
  }
});

// A collector that takes no gzip (415 to a gzipped body), in real workerd:
// the Worker sends the refused batch again at once uncompressed and
// compresses nothing more; a 415 to an uncompressed body is a rejection.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Miniflare } from 'miniflare';
import { startCollector, type Collector, type CollectorRequest } from '../helpers/collector.js';
import { allSpans } from '../helpers/otlp.js';
import { fixture, startWorkers } from './harness.js';
import { prng } from '../../demo/collector/synthetic.mjs'; // mulberry32, seeded

/**
 * Generated workers: each exports gzip (protobuf or OTLP/JSON, batches of
 * 1-6 spans) to a collector that, from its `from`-th request of that
 * worker on, answers 415 to every gzip body (`all`: to every body).
 */
const r = prng(0x415);
const cases = Array.from({ length: 8 }, (_, i) => ({
  json: r() < 0.5,
  batch: 1 + Math.floor(r() * 6),
  from: Math.floor(r() * 4),
  all: i % 4 === 3,
  calls: Array.from({ length: 2 + Math.floor(r() * 3) }, () => Math.floor(r() * 9)),
}));

let collector: Collector;
let mf: Miniflare;
/** The status each request was answered with. */
const answered = new Map<CollectorRequest, number>();
const caseOf = (q: CollectorRequest): number => Number(q.headers['x-case']);

before(async () => {
  /** Requests of each worker so far. */
  const seen = new Map<number, number>();
  collector = await startCollector({
    respond: (q) => {
      const i = caseOf(q);
      const c = cases[i]!;
      seen.set(i, (seen.get(i) ?? 0) + 1);
      const status = seen.get(i)! > c.from && (c.all || q.headers['content-encoding'] === 'gzip') ? 415 : 200;
      answered.set(q, status);
      return { status };
    },
  });
  mf = startWorkers(
    cases.map((c, i) => ({
      name: `gz${i}`,
      routes: [`gz${i}.example/*`],
      scriptPath: fixture('counted.mjs'),
      bindings: {
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: collector.url,
        OTEL_EXPORTER_OTLP_HEADERS: `x-case=${i}`,
        OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
        OTEL_BSP_SCHEDULE_DELAY: '0',
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: String(c.batch),
        ...(c.json && { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', JSON_WASM: '1' }),
      },
    })),
  );
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
  await collector?.close();
});

test('8 generated workers: a batch answered 415 to its gzip body goes again at once uncompressed, byte-equal, and nothing more is compressed; a 415 to an uncompressed body is a rejection, counted', async () => {
  for (const [i, c] of cases.entries()) {
    const what = `case ${i} (${c.json ? 'json' : 'protobuf'}, batches of ${c.batch}, 415 from request ${c.from}${c.all ? ' to every body' : ''})`;
    const mine = () => collector.requests.filter((q) => caseOf(q) === i);
    const spans = (status: number, plain?: boolean) =>
      mine().filter((q) => answered.get(q) === status && (!plain || !q.headers['content-encoding'])).flatMap((q) => allSpans(q.decoded!));
    /** The first request of each call. */
    const starts: number[] = [];
    let made = 0;
    for (const n of c.calls) {
      starts.push(mine().length);
      const res = await mf.dispatchFetch(`http://gz${i}.example/spans?n=${n}`);
      assert.equal(await res.text(), 'made');
      made += n + 1; // and the request's own span
      // Until every span of the call has its last answer: accepted, or refused uncompressed.
      await collector.waitFor(() => spans(200).length + spans(415, true).length >= made, 15_000).catch(() => {});
    }
    const q = mine();
    assert.ok(q.every((x) => x.decoded), `${what}: every body decoded`);
    const accepted = spans(200);
    const rejected = c.all ? spans(415, true) : [];
    const ids = [...accepted, ...rejected].map((s) => s.spanId);
    assert.equal(ids.length, made, `${what}: each span accepted or refused once`);
    assert.equal(new Set(ids).size, made, `${what}: no span twice`);
    const refused = q.filter((x) => answered.get(x) === 415 && x.headers['content-encoding'] === 'gzip');
    for (const x of refused) {
      const again = q.slice(q.indexOf(x) + 1).find((y) => !y.headers['content-encoding'] && y.rawBody.equals(x.body));
      assert.ok(again, `${what}: the batch refused gzipped sent again uncompressed, byte-equal`);
    }
    assert.ok(refused.length > 0, `${what}: gzip refused`);
    // Every call after the one whose export was first refused exports uncompressed.
    const next = starts.find((s) => s > q.indexOf(refused[0]!)) ?? q.length;
    assert.ok(q.slice(next).every((x) => !x.headers['content-encoding']), `${what}: compressed after the 415`);
    let stats: Record<string, number> = {};
    for (let k = 0; k < 50 && (stats = (await (await mf.dispatchFetch(`http://gz${i}.example/stats`)).json()) as Record<string, number>).droppedRejected !== rejected.length; k++) {
      await new Promise((res) => setTimeout(res, 20));
    }
    assert.equal(stats.droppedRejected, rejected.length, `${what}: spans refused uncompressed counted, no others`);
  }
});

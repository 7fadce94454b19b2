// A collector that refuses every export (a wrong API key's 401, a 400 or 413
// to everything, a partial success rejecting every span): each loss was
// reported as a wasmtrace.dropped span, that report was refused and reported
// in turn, for ever: one request per scheduledDelayMs from a page or server
// that made no span, and droppedRejected counting the SDK's own reports. Now
// the loss of a second refusal in a row is tallied, and reported after the
// next answer that takes spans. Generated refusals; a real collector on 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCollector, partialSuccessBody, type Reply } from '../helpers/collector.js';
import { allSpans, attrs } from '../helpers/otlp.js';
import { endSpans, received, sleep, tracerFor, assertDecoded } from './delivery-harness.js';
import { prng } from '../../demo/collector/synthetic.mjs';

const CASES = 8;
const DELAY_MS = 40;

test(`a collector refusing everything gets no report of a report: requests stop; the tally is reported once it takes spans again (${CASES} generated)`, async (t) => {
  let refuse: ((spans: number) => Reply) | null = null;
  /** Spans of the requests the collector took. */
  let taken: ReturnType<typeof allSpans> = [];
  const c = await startCollector({
    respond: (req) => {
      const spans = req.decoded ? allSpans(req.decoded) : [];
      if (refuse) return refuse(spans.length);
      taken.push(...spans);
      return {};
    },
  });
  t.after(() => c.close());
  t.after(() => assertDecoded(c));
  const r = prng(401);
  for (let i = 0; i < CASES; i++) {
    const kind = [400, 401, 403, 413, 500, 'partial'][Math.floor(r() * 6)]!;
    refuse = (spans) => (kind === 'partial' ? { body: partialSuccessBody('protobuf', spans, 'over quota') } : { status: kind as number });
    taken = [];
    const label = `case ${i}: ${kind}`;
    const tracer = await tracerFor(c.url, { scheduledDelayMs: DELAY_MS });
    const before = c.requests.length;
    const n = 1 + Math.floor(r() * 20);
    endSpans(tracer, n, `rf${i}`);
    await tracer.flush();
    await sleep(20 * DELAY_MS); // twenty batch delays, no span made
    const requests = c.requests.length - before;
    assert.equal(requests, 2, `${label}: the batch and its loss's report, no more`);
    assert.equal(tracer.stats().droppedRejected, n + 1, `${label}: the ${n} spans and the refused report`);
    // The collector takes spans again: its answer sends the tally (the refused report).
    refuse = null;
    endSpans(tracer, 1, `ok${i}`);
    await tracer.flush();
    await tracer.shutdown();
    assert.equal(taken.filter((s) => s.name === `ok${i}-0`).length, 1, `${label}: the span after sent once`);
    // int64 attribute values decode as decimal strings.
    const reports = taken.filter((s) => s.name === 'wasmtrace.dropped').map((s) => attrs(s.attributes));
    const reason = kind === 'partial' ? 'partial-success' : 'rejected';
    assert.deepEqual(reports, [{ 'wasmtrace.drop.reason': reason, 'wasmtrace.drop.spans': '1' }], `${label}: the refused report, reported`);
    assert.equal(tracer.stats().droppedRejected, n + 1, `${label}: nothing refused after`);
  }
});

// A header set in more than one place in different letter case —
// `OTEL_EXPORTER_OTLP_HEADERS=Authorization=…` from ops and
// `headers: { authorization }` in code — was merged as two names, and fetch
// sent both values joined (`authorization: env, code`), which an
// auth-checking collector refuses: every export failed. Names are merged in
// any case now, the later source winning (code over TRACES_ over the general
// variable). Generated sets against a real 127.0.0.1 collector, from the
// Node entry and from the core entry as a page uses it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCollector } from '../helpers/collector.js';
import { headerSet } from '../helpers/header-sets.js';
import { prng } from '../../demo/collector/synthetic.mjs';
import { endSpans, tracerFor } from './delivery-harness.js';

const CASES = 40;

test(`a header named in several sources in any case is sent once, with the winning source's value (${CASES} generated sets)`, async () => {
  const c = await startCollector();
  const warned: string[] = [];
  const warn = console.warn;
  console.warn = (...a: unknown[]) => void warned.push(a.join(' '));
  try {
    const r = prng(0xca5e);
    for (let i = 0; i < CASES; i++) {
      const { env, code, want } = headerSet(i, r);
      const what = `set ${i}: ${JSON.stringify({ env, code })}`;
      const tracer = await tracerFor(c.url, { env, headers: code }, i % 2 === 1);
      const before = c.requests.length;
      endSpans(tracer, 2, `hc${i}`);
      assert.deepEqual(await tracer.flush(), { sent: 2, queued: 0, dropped: 0 }, what);
      const got = c.requests[before]!.headers;
      for (const [name, value] of Object.entries(want)) assert.equal(got[name], value, `${what}: ${name}`);
      await tracer.shutdown();
    }
    assert.deepEqual(warned, []);
  } finally {
    console.warn = warn;
    await c.close();
  }
});

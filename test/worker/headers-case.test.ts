// A header set in more than one place in different letter case (the env's
// OTEL_EXPORTER_OTLP_HEADERS / ..._TRACES_HEADERS, the config's `headers`)
// was sent by workerd's fetch with both values joined (`authorization: env,
// code`), refused by an auth-checking collector. Sent once now, the later
// source winning whatever its case. Generated sets in real workerd against a
// node:http collector.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { headerSet } from '../helpers/header-sets.js';
import { type HeaderWorkers, startHeaderWorkers } from './harness.js';
import { prng } from '../../demo/collector/synthetic.mjs';

const CASES = 16;

const rnd = prng(0xc0de);
const cases = Array.from({ length: CASES }, (_, i) => headerSet(i, rnd));

let w: HeaderWorkers;
before(async () => {
  w = await startHeaderWorkers('hc', cases.map((c) => ({ ...c.env, HEADERS: JSON.stringify(c.code) })));
});
after(() => w?.close());

test(`a header named in several sources in any case is sent once, with the winning source's value (${CASES} generated sets)`, async () => {
  for (let i = 0; i < CASES; i++) {
    const { env, code, want } = cases[i]!;
    const what = `set ${i}: ${JSON.stringify({ env, code })}`;
    assert.equal(await w.get(i, '/x'), 'ok');
    await w.collector.waitFor(() => !!w.exportOf(i), 15_000).catch(() => assert.fail(`${what}: no export arrived`));
    const got = w.exportOf(i)!.headers;
    for (const [name, value] of Object.entries(want)) assert.equal(got[name], value, `${what}: ${name}`);
    assert.deepEqual(JSON.parse(await w.get(i, '/warnings')), [], what);
  }
});

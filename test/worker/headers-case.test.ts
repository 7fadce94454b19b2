// A header set in more than one place in different letter case (the env's
// OTEL_EXPORTER_OTLP_HEADERS / ..._TRACES_HEADERS, the config's `headers`)
// was sent by workerd's fetch with both values joined (`authorization: env,
// code`), refused by an auth-checking collector. Sent once now, the later
// source winning whatever its case. Generated sets in real workerd against a
// node:http collector.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Miniflare } from 'miniflare';
import { startCollector, type Collector } from '../helpers/collector.js';
import { headerSet } from '../helpers/header-sets.js';
import { fixture, startWorkers } from './harness.js';
import { prng } from '../../demo/collector/synthetic.mjs';

const CASES = 16;

const rnd = prng(0xc0de);
const cases = Array.from({ length: CASES }, (_, i) => headerSet(i, rnd));

let collector: Collector;
let mf: Miniflare;

before(async () => {
  collector = await startCollector();
  mf = startWorkers(
    cases.map((c, i) => ({
      name: `hc${i}`,
      routes: [`hc${i}.example/*`],
      scriptPath: fixture('headers.mjs'),
      bindings: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: collector.url, OTEL_SERVICE_NAME: `hc${i}`, OTEL_BSP_SCHEDULE_DELAY: '0', ...c.env, HEADERS: JSON.stringify(c.code) },
    })),
  );
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
  await collector?.close();
});

const exportOf = (service: string) =>
  collector.requests.find((q) => q.decoded?.resourceSpans.some((rs) => rs.resource.attributes.some((a) => a.key === 'service.name' && 'stringValue' in a.value && a.value.stringValue === service)));

test(`a header named in several sources in any case is sent once, with the winning source's value (${CASES} generated sets)`, async () => {
  for (let i = 0; i < CASES; i++) {
    const { env, code, want } = cases[i]!;
    const what = `set ${i}: ${JSON.stringify({ env, code })}`;
    assert.equal(await (await mf.dispatchFetch(`http://hc${i}.example/x`)).text(), 'ok');
    await collector.waitFor(() => !!exportOf(`hc${i}`), 5000).catch(() => assert.fail(`${what}: no export arrived`));
    const got = exportOf(`hc${i}`)!.headers;
    for (const [name, value] of Object.entries(want)) assert.equal(got[name], value, `${what}: ${name}`);
    assert.deepEqual(await (await mf.dispatchFetch(`http://hc${i}.example/warnings`)).json(), [], what);
  }
});

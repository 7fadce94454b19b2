// A claim on a stored batch is wall time (`<owner>,<expires unix ms>`). A
// page whose clock ran ahead (set wrong, a VM's, a dead RTC battery before
// NTP) and that died without pagehide (a crash, a discarded tab) leaves
// claims that, once the clock is right again, look live for as long as the
// clock was off: hours to years. No page adopted those batches meanwhile,
// and the bound never evicted them (held elsewhere), so they also kept this
// page's own batches out of storage. No page writes a claim longer than the
// longest lease (timeoutMs at most 600 s, plus 30 s): one beyond it is no
// live page's. Generated clock offsets, a real node:http collector; a live
// claim within the lease is still respected (exactly once).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCollector } from '../helpers/collector.js';
import { createStorageArea } from '../helpers/memory-storage.js';
import { prng } from '../../demo/collector/synthetic.mjs';
import { flakyPort, leaveStored, received, sleep, storedSpans, tabFor } from './delivery-harness.js';

const CASES = 12;
const LONGEST_LEASE_MS = 630_000;

test(`claims written by a clock that ran ahead do not hold stored batches; live ones do (${CASES} generated)`, async (t) => {
  const c = await startCollector();
  const down = await flakyPort();
  t.after(() => Promise.all([c.close(), down.close()]));
  const r = prng(2024);
  for (let i = 0; i < CASES; i++) {
    const area = createStorageArea();
    const n = 1 + Math.floor(r() * 20);
    await leaveStored(area.open(), down.url, n, `skew${i}`);
    // Even cases: the crashed page's clock was ahead by 11 min to a year. Odd: a live tab's claim, within its lease.
    const ahead = i % 2 === 0;
    const expires = Date.now() + (ahead ? LONGEST_LEASE_MS + 60_000 + Math.floor(r() * 365 * 86_400_000) : 5_000 + Math.floor(r() * 20_000));
    const claims = area.entries().filter(([k]) => k.startsWith('wasmtrace:q:')).map(([k]) => k.replace(':q:', ':c:'));
    for (const k of claims) area.poke(k, `deadTab,${expires}`);
    const b = await tabFor(c.url, { storage: area.open() });
    await b.pipeline.flush();
    await sleep(100);
    await b.pipeline.flush();
    const got = received(c).user.filter((s) => s.name.startsWith(`skew${i}-`)).length;
    assert.equal(got, ahead ? n : 0, `case ${i}: claim expires in ${Math.round((expires - Date.now()) / 1000)} s`);
    assert.equal(storedSpans(area), ahead ? 0 : n, `case ${i}: left in storage`);
    await b.pipeline.shutdown();
  }
});

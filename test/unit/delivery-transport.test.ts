// A custom transport whose promise never settles (it ignores meta.signal):
// flush() never resolved and the batch held a request slot for good. The
// request is over at the deadline like an aborted fetch: retried, parked,
// and the slot freed for the next batch. Generated sequences of transports
// that hang, answer or fail, over the real Wasm module.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prng } from '../../demo/collector/synthetic.mjs';
import { endSpans, tabFor } from './delivery-harness.js';
import type { TransportResponse } from '../../src/export/types.js';

const CASES = 12;
const TIMEOUT_MS = 100;

/** Resolves to what `p` gave, or 'pending' after `ms`. */
const within = <T>(p: Promise<T>, ms: number): Promise<T | 'pending'> => Promise.race([p, new Promise<'pending'>((r) => setTimeout(() => r('pending'), ms))]);

test(`a transport that never settles is over at the deadline: flush() resolves and the slot is freed (${CASES} generated)`, async () => {
  const r = prng(808);
  for (let i = 0; i < CASES; i++) {
    // What each call does, in turn: hang, answer 200, or fail as a network error.
    const plan = Array.from({ length: 6 }, () => (['hang', 'ok', 'fail'] as const)[Math.floor(r() * 3)]!);
    plan[0] = 'hang';
    const calls: string[] = [];
    const transport = (): Promise<TransportResponse> => {
      const what = plan[calls.length] ?? 'ok';
      calls.push(what);
      return what === 'hang' ? new Promise(() => {}) : what === 'ok' ? Promise.resolve({ status: 200 }) : Promise.reject(new TypeError('fetch failed'));
    };
    const maxAttempts = 1 + Math.floor(r() * 3);
    const tab = await tabFor('http://127.0.0.1:9/v1/traces', { transport, timeoutMs: TIMEOUT_MS, maxAttempts, maxConcurrentRequests: 1, retryInitialDelayMs: 10, retryMaxDelayMs: 20 });
    const n = 1 + Math.floor(r() * 5);
    endSpans(tab.tracer, n, `c${i}`);
    const res = await within(tab.pipeline.flush(), 10 * TIMEOUT_MS);
    if (res === 'pending') assert.fail(`case ${i} ${plan.join(',')}: flush() resolves`);
    assert.equal(res.sent + res.queued, n, `case ${i}: nothing lost`);
    // The slot is free: a later batch is sent once the plan answers.
    const later = await within(tab.pipeline.shutdown(), 20 * TIMEOUT_MS);
    assert.notEqual(later, 'pending', `case ${i}: shutdown() resolves`);
    assert.equal(tab.errors.length, 0, `case ${i}: ${String(tab.errors[0])}`);
    assert.ok(calls.length >= 2, `case ${i}: the batch was tried again after the hang (${calls.join(',')})`);
  }
});

test('settled requests leave no abort listener on the deadline signal they share (generated flush counts)', async () => {
  const { getEventListeners } = await import('node:events');
  const r = prng(909);
  for (let i = 0; i < 4; i++) {
    const signals = new Set<AbortSignal>();
    const transport = (_body: Uint8Array, meta: { signal?: AbortSignal }): Promise<TransportResponse> => {
      if (meta.signal) signals.add(meta.signal);
      return r() < 0.3 ? Promise.reject(new TypeError('fetch failed')) : Promise.resolve({ status: 200 });
    };
    const tab = await tabFor('http://127.0.0.1:9/v1/traces', { transport, timeoutMs: 10_000, retryInitialDelayMs: 1, retryMaxDelayMs: 2 });
    const flushes = 50 + Math.floor(r() * 150);
    for (let f = 0; f < flushes; f++) {
      endSpans(tab.tracer, 1, `l${i}.${f}`);
      await tab.pipeline.flush();
    }
    await tab.pipeline.shutdown();
    // Each listener held its batch until the shared signal was replaced: growing with every request of a while.
    for (const s of signals) assert.equal(getEventListeners(s, 'abort').length, 0, `run ${i}: ${flushes} flushes over ${signals.size} signal(s)`);
    assert.ok(signals.size > 0 && signals.size < flushes, `the deadline signal is shared (${signals.size} for ${flushes} flushes)`);
  }
});

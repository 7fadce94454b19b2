// The browser entry's pure parts, in Node: data-* attributes → options, and the
// session id's lifetime (over an in-memory localStorage).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { optionsFromDataset } from '../../src/browser/dataset.js';
import { sessionId, SESSION_IDLE_MS, SESSION_MAX_MS } from '../../src/browser/session.js';

test('data-* attributes become init options', () => {
  const o = optionsFromDataset({
    serviceName: 'shop-web', endpoint: 'https://otel.example.com/v1/traces', propagateTo: 'https://api.example.com, /^https:\\/\\/cdn\\./',
    sampleRatio: '0.25', disable: 'longTasks, webVitals', resource: 'service.version=1.2,deployment.environment.name=prod',
    scheduledDelayMs: '250', debug: '', compression: 'none',
  });
  assert.equal(o.serviceName, 'shop-web');
  assert.equal(o.endpoint, 'https://otel.example.com/v1/traces');
  const rules = o.propagateTo as Array<string | RegExp>;
  assert.equal(rules[0], 'https://api.example.com');
  assert.ok(rules[1] instanceof RegExp && rules[1].test('https://cdn.example.com/x'));
  assert.deepEqual(o.sampler, { ratio: 0.25 });
  assert.deepEqual(o.instrumentations, { longTasks: false, webVitals: false });
  assert.deepEqual(o.resource, { 'service.version': '1.2', 'deployment.environment.name': 'prod' });
  assert.equal(o.scheduledDelayMs, 250);
  assert.equal(o.debug, true);
  assert.equal(o.compression, 'none');
});

test('every numeric delivery attribute becomes a number (seeded values)', () => {
  const names = ['maxExportBatchSize', 'scheduledDelayMs', 'maxQueueBytes', 'timeoutMs', 'retryInitialDelayMs', 'retryMaxDelayMs', 'maxAttempts', 'maxConcurrentRequests'];
  let seed = 7;
  const next = (): number => (seed = (seed * 48271) % 2147483647) % 100_000;
  for (let i = 0; i < 50; i++) {
    for (const name of names) {
      const n = next();
      assert.equal((optionsFromDataset({ [name]: String(n) }) as unknown as Record<string, unknown>)[name], n, name);
    }
  }
});

test('an invalid data-propagate-to RegExp is skipped, not thrown', () => {
  const o = optionsFromDataset({ serviceName: 'x', propagateTo: '/([/, https://api.example.com' });
  assert.deepEqual(o.propagateTo, ['https://api.example.com']);
});

test('session.id: kept across loads, renewed while active, replaced when idle or too old', () => {
  const store = new Map<string, string>();
  const g = globalThis as { localStorage?: unknown };
  g.localStorage = {
    getItem: (k: string) => store.get(k) ?? null,
    setItem: (k: string, v: string) => void store.set(k, v),
    removeItem: (k: string) => void store.delete(k),
  };
  try {
    const t0 = 1_800_000_000_000;
    const a = sessionId(t0);
    assert.match(a, /^[0-9a-f]{32}$/);
    assert.equal(sessionId(t0 + 60_000), a, 'a reload a minute later keeps it');
    assert.equal(sessionId(t0 + 60_000 + SESSION_IDLE_MS - 1), a, 'activity renews the idle window');
    const b = sessionId(t0 + 60_000 + 2 * SESSION_IDLE_MS);
    assert.notEqual(b, a, 'idle too long: a new session');
    let t = t0 + 60_000 + 2 * SESSION_IDLE_MS;
    for (let i = 0; i < 20 && t < t0 + 3 * SESSION_MAX_MS; i++) {
      t += SESSION_IDLE_MS / 2;
      if (sessionId(t) !== b) break;
    }
    assert.ok(t - (t0 + 60_000 + 2 * SESSION_IDLE_MS) <= SESSION_MAX_MS + SESSION_IDLE_MS / 2, 'a session ends after maxMs even if active');
    assert.notEqual(sessionId(t), b);
  } finally {
    delete g.localStorage;
  }
});

test('session.id without usable storage: one for the page (read per batch), under the same rules, no throw', () => {
  const g = globalThis as { localStorage?: unknown };
  Object.defineProperty(g, 'localStorage', { configurable: true, get() { throw new DOMException('denied', 'SecurityError'); } });
  try {
    const t = 2_000_000_000_000;
    const a = sessionId(t);
    assert.match(a, /^[0-9a-f]{32}$/);
    assert.equal(sessionId(t + 5_000), a, 'the next batch keeps it');
    assert.equal(sessionId(t + SESSION_IDLE_MS - 1), a);
    assert.notEqual(sessionId(t + 2 * SESSION_IDLE_MS), a, 'idle too long: a new session');
  } finally {
    delete g.localStorage;
  }
});

test('session.id with storage full (setItem throws, nothing stored): one for the page, as without storage, not one per batch', () => {
  const g = globalThis as { localStorage?: unknown };
  g.localStorage = {
    getItem: () => null,
    setItem: () => {
      throw new DOMException('full', 'QuotaExceededError');
    },
  };
  try {
    const t = 2_100_000_000_000;
    const a = sessionId(t);
    for (let i = 1; i <= 20; i++) assert.equal(sessionId(t + i * 5_000), a, `batch ${i} keeps it`);
    assert.notEqual(sessionId(t + 100_000 + 2 * SESSION_IDLE_MS), a, 'idle too long: a new session');
  } finally {
    delete g.localStorage;
  }
});

test('session.id stored with times in the future (the clock set back by 1 min to 2 days, generated): replaced, so no session outlasts maxMs', () => {
  const store = new Map<string, string>();
  const g = globalThis as { localStorage?: unknown };
  g.localStorage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
  let seed = 3;
  const next = (): number => (seed = (seed * 48271) % 2147483647) / 2147483647;
  try {
    for (let i = 0; i < 200; i++) {
      const t = 2_200_000_000_000 + i * 1e9;
      const back = Math.round(2 * SESSION_IDLE_MS / 30 + next() * 2 * 86_400_000); // past the 1-minute slack
      const old = 'ab'.repeat(16);
      store.set('wasmtrace.session', `${old},${t + back - 1000},${t + back}`);
      const now = sessionId(t);
      assert.notEqual(now, old, `a record ${back} ms ahead is not kept`);
      assert.equal(sessionId(t + 1000), now, 'the new one holds');
    }
    // Within the slack (another tab's write a few ms ahead of this read): kept.
    store.set('wasmtrace.session', `${'cd'.repeat(16)},2300000000000,2300000000005`);
    assert.equal(sessionId(2_300_000_000_000), 'cd'.repeat(16));
  } finally {
    delete g.localStorage;
  }
});

test('data-disabled and data-debug are booleans: present or "true" is on, "false" is off', () => {
  assert.equal(optionsFromDataset({ disabled: '' }).disabled, true);
  assert.equal(optionsFromDataset({ disabled: 'true' }).disabled, true);
  assert.equal(optionsFromDataset({ disabled: 'false' }).disabled, false);
  assert.equal(optionsFromDataset({ debug: 'false' }).debug, false);
  assert.equal(optionsFromDataset({ serviceName: 'x' }).disabled, undefined);
});

test('an empty data-* value is as if the attribute were absent (flags excepted): data-sample-ratio="" kept no trace, data-wasm="" loaded the page as the module', () => {
  const names = ['serviceName', 'endpoint', 'protocol', 'sampleRatio', 'resource', 'disable', 'propagateTo', 'compression', 'wasm', 'maxExportBatchSize', 'scheduledDelayMs', 'maxQueueBytes', 'timeoutMs', 'retryInitialDelayMs', 'retryMaxDelayMs', 'maxAttempts', 'maxConcurrentRequests'];
  for (const name of names) for (const v of ['', ' ', '\t\n']) assert.deepEqual(optionsFromDataset({ [name]: v }), {}, `data-${name}=${JSON.stringify(v)}`);
  assert.deepEqual(optionsFromDataset({ sampleRatio: '0' }), { sampler: { ratio: 0 } }, 'a ratio of 0 written out stays 0');
  assert.deepEqual(optionsFromDataset({ debug: '', disabled: '', redactQuery: '' }), { debug: true, disabled: true, redactQuery: true });
});

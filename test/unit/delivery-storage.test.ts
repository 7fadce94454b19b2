// The in-memory Storage the delivery tests use behaves like a browser's
// localStorage in what delivery depends on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStorageArea, DEFAULT_QUOTA_UNITS, type StorageEventLike } from '../helpers/memory-storage.js';
import { isQuotaError } from '../../src/export/queue.js';

test('quota counts keys and values in UTF-16 code units', () => {
  const area = createStorageArea();
  assert.equal(area.quota, DEFAULT_QUOTA_UNITS);
  const s = area.open();
  s.setItem('k', 'é😀'); // 1 + 1 + 2 units
  assert.equal(area.used(), 4);
  s.setItem('k', 'ab');
  assert.equal(area.used(), 3);
  s.removeItem('k');
  assert.equal(area.used(), 0);
  const big = 'x'.repeat(DEFAULT_QUOTA_UNITS - 3);
  s.setItem('abc', big);
  assert.equal(area.used(), DEFAULT_QUOTA_UNITS);
  assert.throws(
    () => s.setItem('d', ''),
    (e: unknown) => e instanceof DOMException && e.name === 'QuotaExceededError' && e.code === 22 && isQuotaError(e),
  );
  assert.equal(s.length, 1, 'a failed write changes nothing');
  assert.throws(() => s.setItem('abc', big + 'y'), (e: unknown) => isQuotaError(e));
  assert.equal(s.getItem('abc'), big, 'the old value stays');
});

test('key() and length follow the keys, stable between changes', () => {
  const s = createStorageArea().open();
  s.setItem('b', '1');
  s.setItem('a', '2');
  s.setItem('b', '3'); // an update keeps the order
  assert.deepEqual([s.key(0), s.key(1), s.key(2), s.key(-1)], ['b', 'a', null, null]);
  s.removeItem('b');
  assert.deepEqual([s.length, s.key(0)], [1, 'a']);
});

test('tabs share one area; storage events reach the others, not the writer', async () => {
  const area = createStorageArea();
  const a = area.open();
  const b = area.open();
  const seen: Array<[string, StorageEventLike]> = [];
  a.addEventListener('storage', (e) => seen.push(['a', e]));
  b.addEventListener('storage', (e) => seen.push(['b', e]));
  a.setItem('k', 'v');
  assert.equal(b.getItem('k'), 'v');
  a.setItem('k', 'v'); // unchanged: no event
  b.removeItem('k');
  b.removeItem('missing'); // absent: no event
  assert.equal(seen.length, 0, 'events are tasks, not synchronous');
  await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(
    seen.map(([who, e]) => [who, e.key, e.oldValue, e.newValue]),
    [
      ['b', 'k', null, 'v'],
      ['a', 'k', 'v', null],
    ],
  );
});

test('disabled storage throws SecurityError on every access', () => {
  const area = createStorageArea();
  const s = area.open();
  area.disabled = true;
  for (const f of [() => s.length, () => s.key(0), () => s.getItem('k'), () => s.setItem('k', 'v'), () => s.removeItem('k')]) {
    assert.throws(f, (e: unknown) => e instanceof DOMException && e.name === 'SecurityError');
  }
});

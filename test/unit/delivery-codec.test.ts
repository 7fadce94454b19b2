// The localStorage packing: exact round trips, no surrogates, and its density
// against base64 (what the quota counts is UTF-16 code units).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pack, packedLength, unpack } from '../../src/export/codec.js';

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) b[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
  return b;
}

test('round-trips every length from 0 to 300 and large bodies', () => {
  for (const n of [...Array.from({ length: 301 }, (_, i) => i), 4096, 65_535, 65_536, 200_001]) {
    const b = bytes(n, n + 1);
    const s = pack(b);
    assert.equal(s.length, packedLength(n));
    assert.deepEqual(unpack(s, n), b, `length ${n}`);
  }
  const ones = new Uint8Array(1000).fill(0xff);
  assert.deepEqual(unpack(pack(ones), 1000), ones);
});

test('never produces a surrogate or a control character', () => {
  const s = pack(bytes(50_000, 3));
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    assert.ok(c >= 0x0800 && c <= 0x87ff, `unit ${c.toString(16)} at ${i}`);
  }
});

test('rejects strings it did not pack', () => {
  const b = bytes(100, 9);
  const s = pack(b);
  assert.equal(unpack(s, 99), null, 'wrong byte length');
  assert.equal(unpack(s.slice(1), 100), null, 'truncated');
  assert.equal(unpack('a' + s.slice(1), 100), null, 'unit out of range');
  assert.equal(unpack(s, -1), null);
  assert.equal(unpack(s, 1.5), null);
});

test('is 2.5 times denser than base64 in code units', () => {
  const n = 60 * 1024;
  const b = bytes(n, 5);
  const b64 = Buffer.from(b).toString('base64').length;
  const packed = pack(b).length;
  assert.equal(packed, Math.ceil((n * 8) / 15));
  assert.ok(b64 / packed > 2.49 && b64 / packed < 2.51, `${b64} vs ${packed}`);
});

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

/** The format by its definition: the bytes as one bit stream, cut into 15-bit units from the top, the last padded with zeros. */
function reference(b: Uint8Array): string {
  let bitsText = '';
  for (const x of b) bitsText += x.toString(2).padStart(8, '0');
  let s = '';
  for (let i = 0; i < bitsText.length; i += 15) s += String.fromCharCode(0x0800 + parseInt(bitsText.slice(i, i + 15).padEnd(15, '0'), 2));
  return s;
}

test('keeps the stored format: what earlier versions wrote is still read', () => {
  // Written by the first implementation (one bit accumulator per byte), kept as data.
  const old = new Uint8Array([0x0b, 0x30, 0x55, 0x7a, 0x9f, 0xc4, 0xe9, 0x0e, 0x33, 0x58, 0x7d, 0xa2, 0xc7, 0xec, 0x11, 0x36, 0x5b]);
  const stored = String.fromCharCode(0xd98, 0x1d5e, 0x5bf8, 0x5690, 0x799a, 0x69f6, 0x4d8f, 0x7411, 0x232d, 0x4800);
  assert.equal(pack(old), stored);
  assert.deepEqual(unpack(stored, old.length), old);
  // And the definition, over every length to 300 (every tail after whole 15-byte groups) and random contents.
  for (let n = 0; n <= 300; n++) {
    const b = bytes(n, 7 * n + 3);
    assert.equal(pack(b), reference(b), `length ${n}`);
  }
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
  // Out of range anywhere: in a whole 8-unit group (low and high side) and in the tail.
  for (const at of [0, 5, 8, 50, s.length - 1]) {
    for (const c of [0x07ff, 0x8800, 0xd800, 0x41]) {
      assert.equal(unpack(s.slice(0, at) + String.fromCharCode(c) + s.slice(at + 1), 100), null, `unit ${c.toString(16)} at ${at}`);
    }
  }
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

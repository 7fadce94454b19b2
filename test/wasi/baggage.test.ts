// The WASI build's baggage parser against the JS SDK's (src/baggage.ts):
// thousands of seeded headers (well-formed, malformed, at the size limits)
// go to a small WASI command (fixtures/baggage.ts, compiled here with asc)
// as environment variables, and each printed result must equal the JS
// parseBaggage of the same header, member for member.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runWasi } from '../../demo/wasi-job/host.mjs';
import { parseBaggage } from '../../src/baggage.js';
import { prng } from '../../demo/collector/synthetic.mjs'; // mulberry32, seeded
import { wasiFixture } from './fixture.js';

const fixture = wasiFixture('baggage');

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
// Octets other than '%' (escapes are made separately, valid or not).
const OCTETS = '!#$&\'()*+-./0123456789:<=>?@ABCXYZ[]^_`abcxyz{|}~';
const OWS = ['', '', '', ' ', '\t', '  ', ' \t '];
/** Escapes that are not UTF-8 (bad hex, overlong, surrogate, above U+10FFFF, stray or missing continuation): members keep them, as JS does. */
const BAD_ESCAPES = ['%', '%2', '%zz', '%g0', '%C0%80', '%C1%BF', '%E0%80%80', '%ED%A0%80', '%F0%80%80%80', '%F4%90%80%80', '%F5%80%80%80', '%80', '%BF', '%E2%82', '%E2%82%41', '%F0%9F%98', '%FF'];
/** Pieces that break a member: CTLs, non-ASCII, delimiters in the wrong place. */
const BAD_PIECES = ['"', '\\', ';', ';;', '=', ',', ',,', '\r', '\n', '\u000b', '\u0001', '\u007f', 'é', '日', '😀', '(', ')', ' ', '\t', '%'];

function pick<T>(r: () => number, xs: ArrayLike<T>): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function token(r: () => number, max = 8): string {
  let s = '';
  for (let k = 1 + Math.floor(r() * max); k > 0; k--) s += pick(r, TCHARS);
  return s;
}

/** A value: octets and percent-encoded UTF-8 (any code point, BMP or not), sometimes empty. */
function value(r: () => number, max = 10): string {
  let s = '';
  for (let k = Math.floor(r() * max); k > 0; k--) {
    const x = r();
    if (x < 0.7) s += pick(r, OCTETS);
    else if (x < 0.85) s += encodeURIComponent(String.fromCodePoint(Math.floor(r() * 0x80)));
    else s += encodeURIComponent(String.fromCodePoint(r() < 0.5 ? 0x80 + Math.floor(r() * 0xd780) : 0xe000 + Math.floor(r() * 0x102000)));
  }
  return s;
}

/** A well-formed list-member with random OWS and properties. */
function goodMember(r: () => number, valueMax = 10): string {
  const w = () => pick(r, OWS);
  let m = `${w()}${token(r)}${w()}=${w()}${value(r, valueMax)}${w()}`;
  for (let p = r() < 0.6 ? 0 : Math.floor(r() * 3); p > 0; p--) {
    m += `;${w()}${token(r)}${w()}`;
    if (r() < 0.6) m += `=${w()}${value(r, 6)}${w()}`;
  }
  return m;
}

/** A member with one defect (or an escape that is not UTF-8, which is none) inserted at a random place. */
function badMember(r: () => number): string {
  const m = goodMember(r);
  const at = Math.floor(r() * (m.length + 1));
  return m.slice(0, at) + (r() < 0.5 ? pick(r, BAD_ESCAPES) : pick(r, BAD_PIECES)) + m.slice(at);
}

function header(r: () => number, i: number): string {
  const kind = i % 5;
  const members: string[] = [];
  if (kind === 0 || kind === 1) {
    // Short headers, mostly well-formed (kind 0) or mostly malformed (kind 1).
    for (let n = Math.floor(r() * 8); n > 0; n--) members.push(r() < (kind === 0 ? 0.9 : 0.3) ? goodMember(r) : badMember(r));
  } else if (kind === 2) {
    // Around the 180-member limit.
    for (let n = 170 + Math.floor(r() * 25); n > 0; n--) members.push(r() < 0.9 ? goodMember(r, 3) : badMember(r));
  } else if (kind === 3) {
    // Around the 8192-byte limit: big members, some that no longer fit after others do.
    for (let n = 1 + Math.floor(r() * 6); n > 0; n--) {
      const size = r() < 0.5 ? 8192 - 2 - Math.floor(r() * 8) : Math.floor(r() * 4000);
      members.push(`${token(r, 1)}=${'v'.repeat(size)}`);
      if (r() < 0.5) members.push(goodMember(r));
    }
  } else {
    // Raw pieces glued together: delimiters, escapes and blanks anywhere.
    let s = '';
    for (let k = Math.floor(r() * 30); k > 0; k--) s += r() < 0.5 ? pick(r, BAD_PIECES) : r() < 0.5 ? pick(r, BAD_ESCAPES) : pick(r, [token(r, 3), value(r, 3), '=', ';p', ';p=q', 'a=b', '%41']);
    return s;
  }
  return members.join(r() < 0.8 ? ',' : pick(r, [', ', ' ,', ',\t', ',,']));
}

test("3,000 generated headers: the WASI build's parseBaggage equals the JS SDK's, member for member", async () => {
  const r = prng(0xba99a9e);
  const headers: string[] = [];
  for (let i = 0; i < 3000; i++) headers.push(header(r, i));
  // The header-length bound, on both sides of it.
  const long = Array.from({ length: 1000 }, (_, i) => `k${i}=v`).join(',');
  headers.push(long + ','.repeat(65536 - long.length), long + ','.repeat(65537 - long.length));
  const env: Record<string, string> = { N: String(headers.length) };
  headers.forEach((h, i) => (env[`B${i}`] = h));
  const run = await runWasi({ wasm: fixture(), sockets: false, env, timeoutMs: 120_000 });
  assert.equal(run.exitCode, 0, run.stderr);
  const lines = run.stdout.split('\n');
  assert.equal(lines.length, headers.length + 1);
  const counts = { kept: 0, dropped: 0, empty: 0 };
  headers.forEach((h, i) => {
    const want = parseBaggage(h);
    assert.deepEqual(lines[i]!.split(','), want.split(','), `case ${i}: ${JSON.stringify(h.slice(0, 300))}`);
    const given = h.split(',').length;
    const kept = want ? want.split(',').length : 0;
    counts.kept += kept;
    counts.dropped += given - kept;
    if (!want) counts.empty++;
  });
  // The cases reach both sides of each rule: members kept and dropped, headers emptied.
  assert.ok(counts.kept > 100_000 && counts.dropped > 20_000 && counts.empty > 300, JSON.stringify(counts));
  assert.equal(lines[headers.length - 2], parseBaggage(long), 'a header of 65,536 characters is parsed');
  assert.equal(lines[headers.length - 1], '', 'a longer one is ignored whole');
});

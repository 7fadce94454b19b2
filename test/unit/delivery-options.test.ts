// Delivery options: defaults, OTEL_* names, clamping with one warning each;
// the retry policy; the partial-success reader (generated bodies: the
// independent OTLP encoder, or bytes built by hand for what it cannot write:
// a field repeated, a google.rpc.Status, a varint past int64).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveDeliveryOptions } from '../../src/export/options.js';
import { backoffMs, outcomeOf, retryAfterMs } from '../../src/export/retry.js';
import { partialSuccess } from '../../src/export/send.js';
import { partialSuccessBody } from '../helpers/collector.js';
import { prng } from '../../demo/collector/synthetic.mjs';

test('defaults', () => {
  const warnings: string[] = [];
  const o = resolveDeliveryOptions({ storage: null }, {}, (m) => warnings.push(m));
  assert.deepEqual(
    { ...o, transport: o.transport },
    {
      endpoint: 'http://localhost:4318/v1/traces', protocol: 'http/protobuf', headers: {}, maxExportBatchSize: 512,
      scheduledDelayMs: 5000, compression: 'auto', maxQueueBytes: 1 << 20, storage: null, storageKeyPrefix: 'wasmtrace:',
      retryInitialDelayMs: 1000, retryMaxDelayMs: 60_000, maxAttempts: 5, maxConcurrentRequests: 2, timeoutMs: 10_000,
      transport: null,
    },
  );
  assert.deepEqual(warnings, []);
});

test('OTEL_* environment names, and user options over them', () => {
  const env = {
    OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example.com:4318/',
    OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20abc, x-a = 1,broken',
    OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-a=2',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
    OTEL_EXPORTER_OTLP_TIMEOUT: '2500',
    OTEL_BSP_SCHEDULE_DELAY: '100',
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '64',
  };
  const o = resolveDeliveryOptions({ storage: null }, env);
  assert.equal(o.endpoint, 'https://otel.example.com:4318/v1/traces');
  assert.deepEqual(o.headers, { authorization: 'Bearer abc', 'x-a': '2' });
  assert.equal(o.protocol, 'http/json');
  assert.equal(o.compression, 'gzip');
  assert.equal(o.timeoutMs, 2500);
  assert.equal(o.scheduledDelayMs, 100);
  assert.equal(o.maxExportBatchSize, 64);
  const traces = resolveDeliveryOptions({ storage: null }, { ...env, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://h:1/custom' });
  assert.equal(traces.endpoint, 'http://h:1/custom', 'the signal-specific URL is used as is');
  const user = resolveDeliveryOptions({ storage: null, endpoint: 'http://u/v1/traces', maxExportBatchSize: 10, headers: { 'x-a': '3' } }, env);
  assert.deepEqual([user.endpoint, user.maxExportBatchSize, user.headers['x-a']], ['http://u/v1/traces', 10, '3']);
  // A timeout of 0 is no limit (configuration/common.md, Timeout), taken as the longest; no warning.
  const warned: string[] = [];
  assert.equal(resolveDeliveryOptions({ storage: null, timeoutMs: 0 }, env, (m) => warned.push(m)).timeoutMs, 600_000);
  assert.deepEqual(warned, []);
  // A name an object's prototype has is a header like any other.
  const proto = resolveDeliveryOptions({ storage: null }, { OTEL_EXPORTER_OTLP_HEADERS: '__proto__=p,constructor=c' }).headers;
  assert.deepEqual(Object.entries(proto), [['__proto__', 'p'], ['constructor', 'c']]);
});

test('bad values are clamped to defaults with one warning each', () => {
  const warnings: string[] = [];
  const o = resolveDeliveryOptions(
    {
      storage: null, endpoint: 'http://[bad', protocol: 'grpc' as 'http/json', compression: 'br' as 'gzip',
      maxExportBatchSize: 0, scheduledDelayMs: -1, maxQueueBytes: Number.NaN, maxAttempts: 1e9, maxConcurrentRequests: 0,
      timeoutMs: Infinity, retryInitialDelayMs: -5,
    },
    {},
    (m) => warnings.push(m),
  );
  assert.equal(warnings.length, 10, warnings.join('\n'));
  assert.deepEqual(
    [o.endpoint, o.protocol, o.compression, o.maxExportBatchSize, o.scheduledDelayMs, o.maxQueueBytes, o.maxAttempts, o.maxConcurrentRequests, o.timeoutMs, o.retryInitialDelayMs],
    ['http://localhost:4318/v1/traces', 'http/protobuf', 'auto', 512, 5000, 1 << 20, 5, 2, 10_000, 1000],
  );
  assert.deepEqual(resolveDeliveryOptions(o, {}, (m) => warnings.push(m)), o, 'resolving twice changes nothing');
  assert.equal(warnings.length, 10);
});

test('retryable outcomes: network errors, 429, 502, 503, 504; never other 4xx', () => {
  assert.deepEqual([0, 429, 502, 503, 504].map(outcomeOf), ['retry', 'retry', 'retry', 'retry', 'retry']);
  assert.deepEqual([400, 401, 403, 404, 413, 500, 501].map(outcomeOf), ['reject', 'reject', 'reject', 'reject', 'reject', 'reject', 'reject']);
  assert.deepEqual([200, 202, 204].map(outcomeOf), ['ok', 'ok', 'ok']);
});

test('backoff doubles with jitter within its cap; Retry-After in seconds or as a date', () => {
  assert.deepEqual([1, 2, 3, 4].map((a) => backoffMs(a, 100, 1000, () => 1)), [100, 200, 400, 800]);
  assert.deepEqual([1, 2, 3, 4].map((a) => backoffMs(a, 100, 1000, () => 0)), [50, 100, 200, 400]);
  assert.equal(backoffMs(50, 100, 1000, () => 1), 1000);
  const now = Date.parse('2026-11-22T00:00:00Z');
  assert.equal(retryAfterMs('3', now), 3000);
  assert.equal(retryAfterMs('Sun, 22 Nov 2026 00:00:05 GMT', now), 5000);
  assert.equal(retryAfterMs('Sat, 21 Nov 2026 00:00:05 GMT', now), 0);
  assert.equal(retryAfterMs('soon', now), null);
  assert.equal(retryAfterMs(null, now), null);
});

test('Retry-After: generated delta-seconds of any number of digits (with blanks) and HTTP dates either side of now', () => {
  let seed = 0x7a;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  const now = Date.parse('2026-11-22T00:00:00Z');
  const blank = () => [' ', '\t', '  ', ''][rnd(4)]!;
  for (let i = 0; i < 2000; i++) {
    const seconds = [rnd(10), 10 + rnd(90), 100 + rnd(900), rnd(100_001)][i % 4]!;
    const zeros = '0'.repeat(rnd(3) === 0 ? 1 + rnd(3) : 0);
    assert.equal(retryAfterMs(`${blank()}${zeros}${seconds}${blank()}`, now), seconds * 1000, `delta ${zeros}${seconds}`);
    const at = now + (rnd(200_001) - 100_000) * 1000;
    assert.equal(retryAfterMs(new Date(at).toUTCString(), now), Math.max(0, at - now), new Date(at).toUTCString());
  }
});

test('Retry-After: the three HTTP-date forms of RFC 9110 are GMT, whatever the local time zone', () => {
  // asctime-date carries no zone; Date.parse alone reads it as local time.
  const tz = process.env.TZ;
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const longDays = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
  const two = (n: number) => String(n).padStart(2, '0');
  const clock = (d: Date) => `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  const forms = (d: Date) => [
    d.toUTCString(),
    `${longDays[d.getUTCDay()]}, ${two(d.getUTCDate())}-${months[d.getUTCMonth()]}-${two(d.getUTCFullYear() % 100)} ${clock(d)} GMT`,
    `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${clock(d)} ${d.getUTCFullYear()}`,
  ];
  let seed = 0x3c;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  const now = Date.parse('2026-11-22T00:00:00Z');
  try {
    for (const zone of ['America/New_York', 'Asia/Tokyo', 'Pacific/Chatham', 'UTC']) {
      process.env.TZ = zone;
      for (let i = 0; i < 200; i++) {
        const at = now + rnd(86_400) * 1000;
        for (const form of forms(new Date(at))) assert.equal(retryAfterMs(form, now), at - now, `${zone}: ${form}`);
      }
    }
  } finally {
    if (tz === undefined) delete process.env.TZ;
    else process.env.TZ = tz;
  }
});

test('partial success is read from protobuf and JSON responses', () => {
  const count = (body: string | Uint8Array, json: boolean): number => partialSuccess(body, json)[0];
  assert.deepEqual(partialSuccess(partialSuccessBody('protobuf', 7, 'too old') as Uint8Array, false), [7, 'too old']);
  assert.equal(count(partialSuccessBody('protobuf', 300_000) as Uint8Array, false), 300_000);
  assert.deepEqual(partialSuccess(partialSuccessBody('json', 4, 'bad') as string, true), [4, 'bad']);
  assert.equal(count('{"partialSuccess":{"rejectedSpans":5}}', true), 5);
  assert.deepEqual(partialSuccess(new Uint8Array(0), false), [0, '']);
  assert.deepEqual(partialSuccess('{}', true), [0, '']);
  assert.deepEqual(partialSuccess('not json', true), [0, '']);
  assert.deepEqual(partialSuccess(new Uint8Array([0x0a, 0xff]), false), [0, ''], 'truncated protobuf');
});

/** Protobuf by hand: a varint (a bigint, so a negative int64's 10 bytes too), a length-delimited field. */
const pb = {
  varint(v: bigint): number[] {
    const out: number[] = [];
    for (v = BigInt.asUintN(64, v); v >= 0x80n; v >>= 7n) out.push(Number(v & 0x7fn) | 0x80);
    return [...out, Number(v)];
  },
  count: (n: bigint): number[] => [0x08, ...pb.varint(n)],
  message: (s: string): number[] => pb.len(2, [...new TextEncoder().encode(s)]),
  len: (field: number, b: number[]): number[] => [...pb.varint(BigInt(field * 8 + 2)), ...pb.varint(BigInt(b.length)), ...b],
};

/** What a message is shown as: control characters as spaces, trimmed, at most 512 characters. */
function assertShown(shown: string, message: string, label: string): void {
  const clean = message.replace(/[\x00-\x1f\x7f]/g, ' ').trim();
  assert.ok(shown.length <= 512 && !/[\x00-\x1f\x7f]/.test(shown), label);
  if (clean.length <= 500) assert.equal(shown, clean, label);
  else assert.ok(shown.length >= 500 && clean.startsWith(shown), label);
}

const WORDS = ['spans', 'rejected', 'für', '😀', 'line\nbreak', 'tab\there', 'esc\u001b[31m', '"q"', 'back\\slash', '中文', '  padded  ', 'del\u007f'];
const words = (r: () => number, n: number): string => Array.from({ length: n }, () => WORDS[Math.floor(r() * WORDS.length)]).join(' ');

test('partial success from the OTLP encoder: its count and its message, bounded (200 generated, protobuf and JSON)', () => {
  const r = prng(4151);
  for (let i = 0; i < 200; i++) {
    const n = r() < 0.2 ? 0 : Math.floor(r() ** 3 * 2 ** (1 + Math.floor(r() * 40)));
    const message = r() < 0.2 ? '' : words(r, r() < 0.2 ? 200 : 1 + Math.floor(r() * 6));
    const label = `case ${i}: ${n}, ${JSON.stringify(message.slice(0, 30))}`;
    const [pn, pm] = partialSuccess(partialSuccessBody('protobuf', n, message) as Uint8Array, false);
    assert.equal(pn, n, label);
    assertShown(pm, message, label);
    const json = JSON.stringify({ partialSuccess: { rejectedSpans: r() < 0.5 ? n : String(n), errorMessage: message } });
    const [jn, jm] = partialSuccess(json, true);
    assert.equal(jn, n, label);
    assert.equal(jm, pm, `${label}: JSON and protobuf shown alike`);
  }
});

test('a negative rejected_spans is no count: -1 (the batch counted sent), protobuf and JSON (100 generated)', () => {
  const r = prng(4152);
  for (let i = 0; i < 100; i++) {
    const n = -1 - Math.floor(r() ** 4 * 2 ** (1 + Math.floor(r() * 62)));
    const label = `case ${i}: ${n}`;
    // The OTLP encoder writes a negative int64 as its 10-byte two's complement, as a hand-built varint does.
    const encoded = partialSuccessBody('protobuf', n, 'why') as Uint8Array;
    const byHand = new Uint8Array(pb.len(1, [...pb.count(BigInt(n)), ...pb.message('why')]));
    assert.deepEqual([...encoded], [...byHand], label);
    assert.deepEqual(partialSuccess(encoded, false), [-1, 'why'], label);
    assert.deepEqual(partialSuccess(JSON.stringify({ partialSuccess: { rejectedSpans: r() < 0.5 ? n : String(n), errorMessage: 'why' } }), true), [-1, 'why'], label);
  }
  // The largest int64 is a count; its sign bit set (the 10th byte's low bit) is not.
  assert.equal(partialSuccess(new Uint8Array(pb.len(1, pb.count(2n ** 62n))), false)[0], 2 ** 62);
  assert.equal(partialSuccess(new Uint8Array(pb.len(1, pb.count(-(2n ** 63n)))), false)[0], -1);
  for (const bad of [2.5, '2.5', '', 'x', true, [3], { n: 3 }, '1e400']) {
    assert.equal(partialSuccess(JSON.stringify({ partialSuccess: { rejectedSpans: bad } }), true)[0], -1, JSON.stringify(bad));
  }
  assert.equal(partialSuccess(JSON.stringify({ partialSuccess: { rejectedSpans: null, errorMessage: 'w' } }), true)[0], 0, 'null is the default, 0');
});

test('a field repeated: the last rejected_spans and error_message win, partial_success occurrences merge (300 generated)', () => {
  const r = prng(4153);
  for (let i = 0; i < 300; i++) {
    let n = 0;
    let message = '';
    const body: number[] = [];
    const noise = (): void => {
      // Fields ExportTraceServiceResponse does not have, and a varint field 1 (google.rpc.Status's code): not partial_success.
      const k = Math.floor(r() * 4);
      if (k === 0) body.push(0x08, ...pb.varint(BigInt(Math.floor(r() * 20))));
      else if (k === 1) body.push(...pb.len(2, [...new TextEncoder().encode(words(r, 2))]));
      else if (k === 2) body.push(0x1d, 1, 2, 3, 4); // field 3, fixed32
    };
    for (let k = 1 + Math.floor(r() * 4); k > 0; k--) {
      noise();
      const inner: number[] = [];
      for (let f = Math.floor(r() * 4); f > 0; f--) {
        const what = Math.floor(r() * 4);
        if (what === 0) inner.push(...pb.count(BigInt((n = Math.floor(r() * 1000)))));
        else if (what === 1) inner.push(...pb.message((message = words(r, 1 + Math.floor(r() * 3)))));
        else if (what === 2) inner.push(0x18, ...pb.varint(BigInt(Math.floor(r() * 1e6)))); // field 3: unknown
        else inner.push(0x21, 0, 0, 0, 0, 0, 0, 0, 0); // field 4, fixed64: unknown
      }
      body.push(...pb.len(1, inner));
    }
    noise();
    const label = `case ${i}: ${Buffer.from(body).toString('hex')}`;
    const [got, shown] = partialSuccess(new Uint8Array(body), false);
    assert.equal(got, n, label);
    assertShown(shown, message, label);
    // The same in OTLP/JSON: one object per key (JSON.parse keeps the last of a repeated key, as protobuf's JSON does).
    const json = `{"partialSuccess":{"rejectedSpans":"1"},"partialSuccess":{"rejectedSpans":${n},"errorMessage":${JSON.stringify(message)}}}`;
    assert.deepEqual(partialSuccess(json, true), [n, shown], label);
  }
});

test('a malformed protobuf response says nothing (generated truncations and bad wire types)', () => {
  const r = prng(4154);
  for (let i = 0; i < 100; i++) {
    const whole = pb.len(1, [...pb.count(BigInt(1 + Math.floor(r() * 100))), ...pb.message(words(r, 3))]);
    const cut = whole.slice(0, 1 + Math.floor(r() * (whole.length - 1)));
    const bad = [...whole, ...[[0x0b], [0x0f], [0x0a, 0x05, 1], [0x08, 0xff]][i % 4]!];
    assert.deepEqual(partialSuccess(new Uint8Array(cut), false), [0, ''], `cut at ${cut.length} of ${whole.length}`);
    assert.deepEqual(partialSuccess(new Uint8Array(bad), false), [0, ''], `bad tail ${i % 4}`);
  }
  // A success answered in another format than the request's (a proxy's JSON or HTML to a protobuf request).
  for (const text of ['{}', '{"partialSuccess":{"rejectedSpans":"3"}}', '<html><body>OK</body></html>', 'OK\n']) {
    assert.deepEqual(partialSuccess(new TextEncoder().encode(text), false), [0, ''], text);
  }
  // An OTLP/JSON request's answer: empty, not JSON, not an object, or an object after white space.
  for (const [text, said] of [['', [0, '']], ['<html>OK</html>', [0, '']], ['null', [0, '']], ['{"partialSuccess":', [0, '']],
    [' \n{"partialSuccess":{"rejectedSpans":"2","errorMessage":"e"}}', [2, 'e']]] as const) {
    assert.deepEqual(partialSuccess(new TextEncoder().encode(text), true), said, `json ${JSON.stringify(text)}`);
    assert.deepEqual(partialSuccess(text, false), said, `string ${JSON.stringify(text)}`);
  }
  assert.deepEqual(partialSuccess(undefined, true), [0, '']);
});

test('a bad endpoint from the environment is named by its variable, one from code by the option', () => {
  const DEFAULT = 'http://localhost:4318/v1/traces';
  for (const [env, user, text] of [
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://[bad' }, {}, `bad OTEL_EXPORTER_OTLP_TRACES_ENDPOINT http://[bad; using ${DEFAULT}`],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: ' http://[bad:1 ' }, {}, `bad OTEL_EXPORTER_OTLP_ENDPOINT http://[bad:1; using ${DEFAULT}`],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://[t', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://ok:1' }, {}, `bad OTEL_EXPORTER_OTLP_TRACES_ENDPOINT http://[t; using ${DEFAULT}`],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://ok:1' }, { endpoint: 'http://[code' }, `bad endpoint http://[code; using ${DEFAULT}`],
  ] as const) {
    const warnings: string[] = [];
    const o = resolveDeliveryOptions({ storage: null, ...user }, env, (m) => warnings.push(m));
    assert.equal(o.endpoint, DEFAULT);
    assert.deepEqual(warnings, [text]);
  }
});

test('a bad value of any delivery variable is named by that variable; the option, when given, wins and is named instead; 600 generated cases', () => {
  // [option, variables in the order they win, a bad value, a good value, what the good one resolves to]
  const SETTINGS = [
    ['maxExportBatchSize', ['OTEL_BSP_MAX_EXPORT_BATCH_SIZE'], '0', '64', 64],
    ['scheduledDelayMs', ['OTEL_BSP_SCHEDULE_DELAY'], '-5', '250', 250],
    ['timeoutMs', ['OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', 'OTEL_EXPORTER_OTLP_TIMEOUT'], 'soon', '2500', 2500],
    ['protocol', ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL'], 'grpc', 'HTTP/JSON', 'http/json'],
    ['compression', ['OTEL_EXPORTER_OTLP_TRACES_COMPRESSION', 'OTEL_EXPORTER_OTLP_COMPRESSION'], 'brotli', 'None', 'none'],
  ] as const;
  let seed = 99;
  const r = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) / 2 ** 24;
  for (let i = 0; i < 600; i++) {
    const [option, vars, badValue, goodValue, resolved] = SETTINGS[i % SETTINGS.length]!;
    const env: Record<string, string> = {};
    for (const v of vars) if (r() < 0.6) env[v] = r() < 0.5 ? badValue : goodValue;
    const user: Record<string, unknown> = { storage: null };
    const optionGiven = r() < 0.25;
    if (optionGiven) user[option] = r() < 0.5 ? (typeof resolved === 'number' ? -1e9 : 'bogus') : resolved;
    const warnings: string[] = [];
    const o = resolveDeliveryOptions(user, env, (m) => warnings.push(m)) as unknown as Record<string, unknown>;
    const where = `case ${i}: ${JSON.stringify({ env, option: user[option] })}`;
    const winner = vars.find((v) => env[v] !== undefined);
    if (optionGiven) {
      const ok = user[option] === resolved;
      assert.equal(warnings.length, ok ? 0 : 1, where);
      if (!ok) assert.match(warnings[0]!, new RegExp(`^bad ${option} `), where);
      if (ok) assert.equal(o[option], resolved, where);
    } else if (winner && env[winner] === badValue) {
      assert.equal(warnings.length, 1, where);
      assert.match(warnings[0]!, new RegExp(`^bad ${winner} ${badValue}; using `), where);
    } else {
      assert.deepEqual(warnings, [], where);
      if (winner) assert.equal(o[option], resolved, where);
    }
  }
});

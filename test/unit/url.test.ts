// url.full redaction (src/url.ts), shared by the worker and the browser:
// credentials and signature query values never leave, everything else is
// kept byte for byte, and no input throws. Also the one rule for the list
// settings (propagateTo, redactQuery) pages and Workers read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fullUrl, listSetting, matchesAny } from '../../src/url.js';
import { filePath } from '../../src/browser/errors.js';

let seed = 12345;
const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)]!;
const word = (): string => Array.from({ length: 1 + rnd(8) }, () => pick('abcXYZ019-_.~%20'.split(''))).join('');

// semconv v1.44's default list (http-spans.md, url.full and url.query notes).
const SIGNATURE = ['X-Amz-Signature', 'X-Amz-Credential', 'X-Amz-Security-Token', 'AWSAccessKeyId', 'Signature', 'sig', 'X-Goog-Signature'];

test('credentials and signature values are replaced; every other pair is kept as written', () => {
  for (let i = 0; i < 3000; i++) {
    // Letters word() never makes, so they can only come from the credentials.
    // A user, a password, both or neither.
    const creds = rnd(4);
    const user = creds & 1 ? `user${i}` : '';
    const pass = creds & 2 ? `pw${i}` : '';
    const pairs: Array<[string, string, boolean]> = [];
    for (let k = rnd(5); k > 0; k--) {
      const secret = rnd(3) === 0;
      const key = secret ? pick(SIGNATURE) : `k${word()}`;
      pairs.push([key, `v${word()}${i}`, secret]);
    }
    const query = pairs.map(([k, v]) => `${k}=${v}`).join('&');
    const auth = user || pass ? `${user}${pass ? `:${pass}` : ''}@` : '';
    const href = `https://${auth}api.example.com:8443/p/${word()}${query ? `?${query}` : ''}#frag`;
    const out = fullUrl(href);
    const u = new URL(out);
    // Either part alone is written REDACTED:REDACTED too, as semconv spells it.
    assert.equal(out.includes('//REDACTED:REDACTED@'), Boolean(user || pass), out);
    assert.ok(!out.includes('user') && !out.includes('pw'), `credential kept: ${out}`);
    const got = u.search.slice(1).split('&').filter(Boolean);
    assert.equal(got.length, pairs.length, out);
    for (const [j, [k, v, secret]] of pairs.entries()) assert.equal(got[j], secret ? `${k}=REDACTED` : `${k}=${v}`, out);
    assert.equal(u.hash, '#frag');
  }
});

test('nothing to redact: the same string, not even parsed', () => {
  for (const href of ['https://example.com/a/b', 'http://127.0.0.1:8080/', '/relative/path', 'not a url at all', '']) {
    assert.equal(fullUrl(href), href);
  }
});

test('redactQuery: named keys or every key; malformed input comes back unchanged', () => {
  assert.equal(fullUrl('https://x.test/?token=abc&q=1', ['token']), 'https://x.test/?token=REDACTED&q=1');
  assert.equal(fullUrl('https://x.test/?a=1&b=2&flag', true), 'https://x.test/?a=REDACTED&b=REDACTED&flag');
  assert.equal(fullUrl('https://x.test/?S%69g=1&sig=2'), 'https://x.test/?S%69g=1&sig=REDACTED', 'keys compare decoded, case-sensitively');
  assert.equal(fullUrl('https://x.test/?%E0%A4%A=1&Signature=s'), 'https://x.test/?%E0%A4%A=1&Signature=REDACTED', 'a bad escape is only a key that matches nothing');
  for (let i = 0; i < 2000; i++) {
    const junk = Array.from({ length: rnd(40) }, () => String.fromCharCode(rnd(0x3000))).join('') + pick(['?', '@', '?a=b@c', '']);
    assert.equal(typeof fullUrl(junk), 'string'); // never throws
  }
  assert.equal(fullUrl('http://[bad@?x=1'), 'http://[bad@?x=1');
});

test('query keys compare decoded: generated escapes of each signature key and of user keys (one key alone, as a string, too)', () => {
  // Each character of the key percent-escaped or not, the hex in either case; a space as + or %20.
  const escape = (key: string) => [...key].map((c) => {
    if (c === ' ') return pick(['+', '%20']);
    if (c === '+') return pick(['%2b', '%2B']); // a raw + is a space
    if (!rnd(2)) return c;
    const h = c.charCodeAt(0).toString(16).padStart(2, '0');
    return `%${rnd(2) ? h : h.toUpperCase()}`;
  }).join('');
  let escaped = 0;
  for (let i = 0; i < 1000; i++) {
    const user = pick(['my key', 'token', 'a+b', 'sesión']);
    const key = pick([...SIGNATURE, user]);
    const raw = key === 'sesión' ? encodeURIComponent(key) : escape(key);
    if (raw !== key) escaped++;
    const other = `q${i}`;
    const redact = pick<string | string[]>([user, [user], ['x', user]]);
    const href = `https://x.test/p?${other}=1&${raw}=v${i}&${raw}x=2`;
    // Only the signature or user key matches, however it is written.
    assert.equal(fullUrl(href, redact), `https://x.test/p?${other}=1&${raw}=REDACTED&${raw}x=2`, `${href} with ${JSON.stringify(redact)}`);
  }
  assert.ok(escaped > 400, `${escaped} keys escaped`);
  // The key `a+b` decodes to `a b`: only `a%2Bb` is it.
  assert.equal(fullUrl('https://x.test/?a+b=1&a%2Bb=2', 'a+b'), 'https://x.test/?a+b=1&a%2Bb=REDACTED');
});

test('the fragment is kept, its key=value pairs (a hash route\'s query too) redacted as the query\'s, OAuth tokens by default', () => {
  const TOKENS = ['access_token', 'id_token', 'refresh_token', 'code'];
  for (let i = 0; i < 2000; i++) {
    const named = [`n${word()}`];
    const redact = pick([undefined, named, true] as const);
    const pairs: Array<[string, string, boolean]> = [];
    for (let k = 1 + rnd(4); k > 0; k--) {
      const kind = rnd(4);
      const key = kind === 0 ? pick(SIGNATURE) : kind === 1 ? pick(TOKENS) : kind === 2 ? named[0]! : `k${word()}`;
      const secret = redact === true || kind < 2 || (kind === 2 && redact === named);
      pairs.push([key, `v${word()}${i}`, secret]);
    }
    const route = pick(['', `/r/${word()}?`, '!/r?']);
    const q = `q${i}=kept`;
    const href = `https://app.example.com/p?${q}#${route}${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`;
    const out = fullUrl(href, redact);
    const hash = new URL(out).hash.slice(1);
    assert.ok(hash.startsWith(route), out);
    const got = hash.slice(route.length).split('&');
    assert.equal(got.length, pairs.length, out);
    for (const [j, [k, v, secret]] of pairs.entries()) assert.equal(got[j], secret ? `${k}=REDACTED` : `${k}=${v}`, out);
    assert.equal(new URL(out).search, redact === true ? `?q${i}=REDACTED` : `?${q}`, out);
  }
  assert.equal(fullUrl('https://x.test/doc#section-2', true), 'https://x.test/doc#section-2', 'a plain fragment is kept');
  assert.equal(fullUrl('https://x.test/a?code=1#code=2'), 'https://x.test/a?code=1#code=REDACTED', 'token keys only in the fragment by default');
});

test('propagateTo strings match their URL and what lies below it, never a look-alike host, port or path', () => {
  const hosts = ['api.example.com', 'api.example.com.evil.net', 'api.example.community', 'evil.net', 'api.example.co'];
  const ports = ['', ':8443'];
  const paths = ['/', '/v1', '/v1/', '/v1/x', '/v1beta', '/v1?q=1', '/v1#f', '/?q', '/#f'];
  const prefixPaths = ['', '/', '/v1', '/v1/', '/v1?', '/v1#'];
  let matched = 0;
  let cases = 0;
  for (const ph of hosts.slice(0, 2))
    for (const pp of ports)
      for (const prefixPath of prefixPaths) {
        const prefix = `https://${ph}${pp}${prefixPath}`;
        for (const h of hosts)
          for (const port of ports)
            for (const path of paths)
              for (const scheme of ['https', 'http']) {
                const href = new URL(`${scheme}://${h}${port}${path}`).href;
                // The model, from parsed URLs: same origin, and the prefix's path is the target's or an ancestor of it.
                const p = new URL(prefix);
                const t = new URL(href);
                const basePath = prefixPath === '' ? '/' : p.pathname;
                const pathOk =
                  basePath.endsWith('/')
                    ? t.pathname.startsWith(basePath)
                    : t.pathname === basePath || t.pathname.startsWith(basePath + '/');
                const rest = href.slice(t.origin.length + t.pathname.length);
                const suffixOk = prefixPath.endsWith('?') ? rest.startsWith('?') : prefixPath.endsWith('#') ? rest.startsWith('#') : true;
                const want = t.origin === p.origin && pathOk && suffixOk;
                assert.equal(matchesAny([prefix], href), want, `${prefix} vs ${href}`);
                if (want) matched++;
                cases++;
              }
      }
  assert.ok(matched > 50 && matched < cases / 4, `${matched} of ${cases} matched`);
  assert.equal(matchesAny(['', 'https://a.example'], 'https://b.example/'), false, 'an empty string matches nothing');
  // One /g RegExp reused: its lastIndex after a match must not make the next test start past it.
  const global = /^https:\/\/api\./g;
  for (let i = 0; i < 3; i++) assert.equal(matchesAny([global], `https://api.x/${i}`), true, 'a /g RegExp matches every time');
});

test('list settings: an array as it is, one value a list of one, unset (undefined or null) silent, anything else warns once', () => {
  // null used to warn in pages (propagatesTo) but not in Workers: unset in both now, as the other settings read it.
  const warn = console.warn;
  const warnings: string[] = [];
  console.warn = (...a: unknown[]) => void warnings.push(a.join(' '));
  const KINDS = ['string', 'regexp', 'array', 'undefined', 'null', 'number', 'object', 'boolean'] as const;
  try {
    for (let i = 0; i < 60; i++) {
      const url = `https://api${i}.example/${word()}`;
      const re = new RegExp(`^https://r${i}\\.${word().replace(/\W/g, '')}`);
      const kind = KINDS[i % KINDS.length]!;
      const given = { string: url, regexp: re, array: [url, re], undefined: undefined, null: null, number: i, object: { i }, boolean: i % 2 === 0 }[kind];
      const before = warnings.length;
      const got = listSetting('propagateTo', given, `default ${i}`, true);
      const want = kind === 'array' ? given : kind === 'string' || kind === 'regexp' ? [given] : undefined;
      assert.deepEqual(got, want, `${kind} ${String(given)}`);
      if (kind === 'array') assert.equal(got, given, 'the array itself');
      const bad = ['number', 'object', 'boolean'].includes(kind);
      assert.deepEqual(warnings.slice(before), bad ? [`[wasmtrace] bad propagateTo ${String(given)}; using default ${i}`] : [], `${kind} ${String(given)}`);
      // redactQuery's: strings alone; a RegExp alone is another value.
      const r = listSetting(`redactQuery${i}`, given, 'keys');
      assert.deepEqual(r, kind === 'regexp' ? undefined : want, `redactQuery ${kind}`);
      const redactBad = bad || kind === 'regexp';
      assert.deepEqual(warnings.slice(before + (bad ? 1 : 0)), redactBad ? [`[wasmtrace] bad redactQuery${i} ${String(given)}; using keys`] : [], `redactQuery ${kind}`);
    }
  } finally {
    console.warn = warn;
  }
});

// An ErrorEvent's filename as code.file.path (src/browser/errors.ts): Firefox
// names eval'd code after what ran it ('…/app.js?v=2 line 7 > eval', nested:
// '… line 7 > eval line 1 > Function'); a //# sourceURL may put a space inside
// the URL itself, and its query is redacted all the same.
test('code.file.path: a URL with spaces in it is redacted whole; Firefox\'s " line N > eval" suffix kept as written (2,000 generated)', () => {
  const SUFFIX = [' line 3 > eval', ' line 12 > Function', ' line 7 > injectedScript', ' line 1 > eval line 4 > Function'];
  for (let i = 0; i < 2000; i++) {
    const path = Array.from({ length: 1 + rnd(3) }, () => (rnd(3) ? word() : `${word()} ${word()}`)).join('/');
    const url = `https://h.test/${path}.js?v=secret${rnd(1000)}&k=${word()}`;
    const suffix = rnd(2) ? pick(SUFFIX) : '';
    const got = filePath(url + suffix, ['v']);
    assert.ok(!got.includes('secret'), `${url + suffix} -> ${got}`);
    assert.ok(got.endsWith(suffix), `${url + suffix} -> ${got}`);
    assert.equal(got, fullUrl(url, ['v']) + suffix);
    assert.equal(filePath(url + suffix, false), fullUrl(url, false) + suffix);
  }
});

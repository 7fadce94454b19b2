// In Chromium, the script tag's tracer that records nothing (its Wasm
// missing, or data-disabled) gives a span started with a valid parent that
// parent's context, as OpenTelemetry's NoopTracer does; with `root`, or an
// invalid parent, the invalid (all-zero) context.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { launchChromium } from '../helpers/browser.js';
import { startCollector, startStaticServer } from '../helpers/collector.js';
import { prng } from '../../demo/collector/synthetic.mjs';

const script = readFileSync(new URL('../../dist/wasmtrace.js', import.meta.url));

test('script tag, Wasm missing or data-disabled: spans carry a valid parent\'s context; root and bad parents give the invalid one', async () => {
  const r = prng(8888);
  const hex = (n: number): string => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');
  const parents = Array.from({ length: 12 }, (_, i) => ({
    traceId: hex(32), spanId: hex(16), traceFlags: i % 4, isRemote: i % 2 === 0, ...(i % 3 ? { traceState: `k${i}=v${hex(4)}` } : {}),
  }));
  const collector = await startCollector({ cors: { origins: '*' } });
  const page = (attrs: string): string => `<!doctype html><html><body><script src="/wasmtrace.js" data-service-name="noop" data-endpoint="${collector.url}" ${attrs}></script></body></html>`;
  const site = await startStaticServer({ routes: {
    '/wasmtrace.js': { body: script, type: 'text/javascript' },
    '/missing.html': page(''),
    '/disabled.html': page('data-disabled'),
  } });
  const browser = await launchChromium();
  try {
    for (const path of ['/missing.html', '/disabled.html']) {
      const p = await browser.newPage();
      await p.goto(site.origin + path);
      const got = (await p.evaluate(`wasmtrace.ready.then((t) => {
        const parents = ${JSON.stringify(parents)};
        const ctx = (s) => ({ ...s.spanContext(), isRemote: s.spanContext().isRemote === true, rec: s.isRecording() });
        return {
          children: parents.map((parent) => ctx(t.startSpan('child', {}, parent))),
          active: parents.map((parent) => t.startActiveSpan('a', {}, parent, (s) => ctx(s))),
          root: ctx(t.startSpan('root', { root: true }, parents[0])),
          bad: [{ traceId: '0'.repeat(32), spanId: '1'.repeat(16) }, 'x', 5].map((parent) => ctx(t.startSpan('bad', {}, parent))),
        };
      })`)) as { children: unknown[]; active: unknown[]; root: unknown; bad: unknown[] };
      const want = parents.map((c) => ({ ...c, traceFlags: c.traceFlags & 3, rec: false }));
      assert.deepEqual(got.children, want, path);
      assert.deepEqual(got.active, want, path);
      const zero = { traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0, isRemote: false, rec: false };
      assert.deepEqual(got.root, zero, path);
      assert.deepEqual(got.bad, [zero, zero, zero], path);
      await p.close();
    }
  } finally {
    await browser.close();
    await site.close();
    await collector.close();
  }
});

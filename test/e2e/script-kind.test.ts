// In real browsers: a span's kind through the script tag — calls queued on a
// stub before the tag, spans deferred before the Wasm is ready, and calls
// after — is checked as the page gave it (tracer.ts): generated kinds, valid
// and not, each exported as given or INTERNAL, as the decoder reads them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { inBothBrowsers, openPage, type AnyPage } from '../helpers/browser.js';
import { startCollector, startStaticServer } from '../helpers/collector.js';
import { kindCases } from '../helpers/kinds.js';

const dist = new URL('../../dist/', import.meta.url);
const CASES = kindCases(7, 120);
/** One statement per case, `call(i, kind)` given the case's index and kind. */
const each = (call: string): string => CASES.map((c, i) => `${call}(${i}, ${c.src});`).join('\n');

async function kindsAsGiven(newPage: () => Promise<AnyPage>): Promise<void> {
  const c = await startCollector({ cors: { origins: '*' } });
  const site = await startStaticServer({
    routes: {
      '/index.html': `<!doctype html><title>kinds</title>
        <script>
          window.wasmtrace = { q: [] };
          const queue = (i, kind) => wasmtrace.q.push(['startActiveSpan', 'q' + i, { kind }, (s) => s.end()]);
          ${each('queue')}
        </script>
        <script src="/wasmtrace.js" data-service-name="kinds" data-endpoint="${c.url}" data-disable="webVitals,longTasks,documentLoad,resources,interactions"></script>
        <script>
          const defer = (i, kind) => wasmtrace.startSpan('d' + i, { kind }).end();
          ${each('defer')}
        </script>`,
      '/wasmtrace.js': { body: readFileSync(new URL('wasmtrace.js', dist)), type: 'text/javascript' },
      '/wasmtrace.wasm': { body: readFileSync(new URL('wasmtrace.wasm', dist)), type: 'application/wasm' },
    },
  });
  try {
    const { page, errors } = await openPage(newPage, site.url);
    await page.evaluate(`(async () => {
      await wasmtrace.ready;
      const after = (i, kind) => {
        wasmtrace.startSpan('r' + i, { kind }).end();
        wasmtrace.startActiveSpan('a' + i, { kind }, (s) => s.end());
      };
      ${each('after')}
      await wasmtrace.flush();
    })()`);
    assert.deepEqual(errors, []);
    const prefixes = ['q', 'd', 'r', 'a'];
    // A span not exported is reported below, by its kind.
    await c.waitFor(() => c.spans().length >= CASES.length * prefixes.length, 10_000).catch(() => undefined);
    const kinds = new Map(c.spans().map((s) => [s.name, s.kind]));
    for (const [i, k] of CASES.entries()) {
      assert.deepEqual(prefixes.map((p) => kinds.get(p + i)), prefixes.map(() => k.otlp), `kind ${k.src} (queued, deferred, after ready: startSpan, startActiveSpan)`);
    }
  } finally {
    await Promise.all([c.close(), site.close()]);
  }
}

inBothBrowsers('span kinds through the stub queue, before ready and after: as given when an integer 0..4, else INTERNAL', kindsAsGiven);

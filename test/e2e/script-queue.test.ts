// In real browsers: the script tag's spans started before the Wasm is ready
// are replayed once it is, up to a bound; a page that starts spans in a loop
// before then keeps bounded memory (the rest record nothing) and sees no error.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inBothBrowsers, type AnyPage } from '../helpers/browser.js';
import { startCollector, startStaticServer } from '../helpers/collector.js';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist');
const files = { script: readFileSync(join(dist, 'wasmtrace.js')), wasm: readFileSync(join(dist, 'wasmtrace.wasm')) };

/** Spans the page starts (and ends) synchronously, right after the tag: before the Wasm can be ready. */
const STARTED = 5000;
/** The bound src/browser/script.ts keeps (MAX_DEFERRED). */
const BOUND = 2048;

async function boundedBeforeReady(newPage: () => Promise<AnyPage>): Promise<void> {
  const c = await startCollector({ cors: { origins: '*' } });
  const site = await startStaticServer({
    routes: {
      '/index.html': `<!doctype html><title>queue</title>
        <script src="/wasmtrace.js" data-service-name="queue" data-endpoint="${c.url}" data-disable="webVitals,longTasks,documentLoad,resources,interactions"></script>
        <script>
          window.early = [];
          for (let i = 0; i < ${STARTED}; i++) {
            const s = wasmtrace.startSpan('early-' + i);
            s.setAttribute('i', i);
            window.early.push(s.isRecording());
            s.end();
          }
        </script>`,
      '/wasmtrace.js': { body: files.script, type: 'text/javascript' },
      '/wasmtrace.wasm': { body: files.wasm, type: 'application/wasm' },
    },
  });
  try {
    const page = await newPage();
    const errors: string[] = [];
    page.on('pageerror', (e: Error) => errors.push(String(e)));
    await page.goto(site.url);
    const r = (await page.evaluate(`(async () => {
      const tracer = await window.wasmtrace.ready;
      await tracer.flush();
      return { recording: window.early.filter(Boolean).length, firstNot: window.early.indexOf(false), stats: tracer.stats() };
    })()`)) as { recording: number; firstNot: number; stats: { droppedSpans: number } };
    assert.deepEqual(errors, []);
    assert.equal(r.recording, BOUND, 'spans started before ready up to the bound are kept');
    assert.equal(r.firstNot, BOUND, 'the ones after it record nothing');
    // The kept ones are replayed and exported (as many as the Wasm pool holds; the rest are counted as dropped).
    await c.waitFor(() => c.spans().some((s) => s.name.startsWith('early-')), 10_000);
    const names = new Set(c.spans().filter((s) => s.name.startsWith('early-')).map((s) => s.name));
    assert.ok(names.size > 0 && [...names].every((n) => Number(n.slice(6)) < BOUND), 'only spans within the bound are exported');
  } finally {
    await Promise.all([c.close(), site.close()]);
  }
}

inBothBrowsers('spans started before the Wasm is ready: replayed up to 2,048, the rest record nothing', boundedBeforeReady);

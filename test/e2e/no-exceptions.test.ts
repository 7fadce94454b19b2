// The script tag throws nothing of its own through a page's life, not even
// an exception it catches itself: a page's first exception costs Chromium
// 1-3 ms of main thread (docs/performance.md, "No exceptions"). Chromium's
// debugger (CDP, pause on every exception) names each throw and where it
// was; a page loads with every instrumentation on, exports in protobuf and
// OTLP/JSON to a collector answering each of the ways a success can come
// (empty, `{}`, another format's body, 204 with none), makes a fetch, one
// that fails, an XHR, a click and a history navigation, and goes away. Firefox has no
// equivalent through WebDriver BiDi here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { launchChromium, sdkSite } from '../helpers/browser.js';
import { SUCCESS_ANSWERS, startCollector } from '../helpers/collector.js';

const dist = new URL('../../dist/', import.meta.url);
const script = readFileSync(new URL('wasmtrace.js', dist));
const jsonWasm = readFileSync(new URL('wasmtrace-json.wasm', dist));

test('Chromium: the script tag throws nothing of its own at load, exports (protobuf and JSON, 4 kinds of success answer), requests, clicks, navigations and unload', async (t) => {
  const browser = await launchChromium();
  t.after(() => browser.close());
  for (const protocol of ['http/protobuf', 'http/json']) {
    for (const [answer, reply] of SUCCESS_ANSWERS) {
      const label = `${protocol}, ${answer}`;
      const c = await startCollector({ cors: { origins: '*' }, respond: () => reply });
      const site = await sdkSite('no exceptions', {
        '/index.html': `<!doctype html><title>no exceptions</title><ul><li><button id="go">go</button></li></ul>
          <script src="/wasmtrace.js" data-service-name="no-exceptions" data-endpoint="${c.url}" data-protocol="${protocol}"></script>`,
        '/next.html': '<!doctype html><title>next</title>',
        '/api': { body: '{"ok":true}', type: 'application/json' },
        '/wasmtrace.js': { body: script, type: 'text/javascript' },
        '/wasmtrace-json.wasm': { body: jsonWasm, type: 'application/wasm' },
      });
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        const cdp = await context.newCDPSession(page);
        const tag = `${site.origin}/wasmtrace.js`;
        const thrown: string[] = [];
        let pauses = 0;
        const scripts = new Map<string, string>(); // scriptId → URL (a call frame's own url is deprecated, and empty here)
        cdp.on('Debugger.scriptParsed', (e) => void scripts.set(e.scriptId, e.url));
        cdp.on('Debugger.paused', (e) => {
          pauses++;
          const ours = e.callFrames.find((f) => scripts.get(f.location.scriptId) === tag);
          if (ours) thrown.push(`${e.reason} ${String((e.data as { description?: string } | undefined)?.description).split('\n')[0]} at ${ours.functionName} ${ours.location.lineNumber + 1}:${(ours.location.columnNumber ?? 0) + 1}`);
          void cdp.send('Debugger.resume').catch(() => {});
        });
        await cdp.send('Debugger.enable');
        await cdp.send('Debugger.setPauseOnExceptions', { state: 'all' });
        await page.goto(site.url);
        const spans = await page.evaluate(async () => {
          const w = window as unknown as { wasmtrace: { ready: Promise<{ startSpan(n: string): { end(): void }; flush(): Promise<{ sent: number }> }> } };
          const tracer = await w.wasmtrace.ready;
          // The page's own caught throw: seen by the debugger, it proves it is listening.
          try {
            JSON.parse('not json');
          } catch {
            // the page's, not the SDK's
          }
          tracer.startSpan('page.work').end();
          let sent = (await tracer.flush()).sent;
          await (await fetch('/api')).text();
          await fetch('http://127.0.0.1:9/').catch(() => undefined); // a request that fails: the page's failure, passed on as it came
          await new Promise<void>((done) => {
            const x = new XMLHttpRequest();
            x.open('GET', '/api');
            x.onloadend = () => done();
            x.send();
          });
          document.getElementById('go')!.click();
          history.pushState({}, '', '?step=2');
          history.back();
          await new Promise((r) => setTimeout(r, 200));
          sent += (await tracer.flush()).sent;
          return sent;
        });
        assert.ok(spans >= 4, `${label}: ${spans} spans sent (page.work, fetch, XHR, pushState's navigation; a click's if any)`);
        await page.goto(`${site.origin}/next.html`); // pagehide: the last batch leaves
        await c.waitFor(() => c.spans().some((s) => s.name === 'documentLoad'), 15_000).catch(() => undefined);
        assert.ok(c.spans().some((s) => s.name === 'documentLoad'), `${label}: documentLoad exported (at the latest on unload)`);
        assert.ok(pauses >= 1, `${label}: the debugger saw the page's own exception`);
        assert.deepEqual(thrown, [], `${label}: exceptions in wasmtrace.js`);
      } finally {
        await context.close();
        await c.close();
        await site.close();
      }
    }
  }
});

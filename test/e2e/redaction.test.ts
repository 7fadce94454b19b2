// url.full in real browsers: signature query values (and credentials) never
// reach the collector from any instrumentation — resource timing, fetch, the
// document load, SPA navigations — and the other query pairs are kept.
import assert from 'node:assert/strict';
import { inBothBrowsers, sdkSite, type AnyPage } from '../helpers/browser.js';
import { startCollector } from '../helpers/collector.js';
import { attrs, type FlatSpan } from '../helpers/otlp.js';
const SECRETS = ['s3cr3tSig', 'g00gSig', 'akid123', 'navSig'];

const PAGE = `async (endpoint) => {
  const { init } = await import('/browser.js');
  const tracer = await init({ serviceName: 'redaction-e2e', endpoint, wasm: '/wasmtrace.wasm', compression: 'none',
    instrumentations: { webVitals: false, longTasks: false, interactions: false } });
  const img = new Image();
  img.src = '/pixel.svg?sig=s3cr3tSig&size=1';
  await new Promise((r) => { img.onload = img.onerror = r; });
  await (await fetch('/api?X-Goog-Signature=g00gSig&page=2')).text();
  history.pushState({}, '', '/next?AWSAccessKeyId=akid123&Signature=navSig&tab=a');
  await new Promise((r) => setTimeout(r, 300));
  return tracer.flush();
}`;

async function noSecrets(newPage: () => Promise<AnyPage>): Promise<void> {
  const site = await sdkSite('redaction', {
    '/pixel.svg': { body: '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>', type: 'image/svg+xml' },
    '/api': { body: '{}', type: 'application/json' },
  });
  const c = await startCollector({ cors: { origins: [site.origin] } });
  try {
    const page = await newPage();
    await page.goto(`${site.url}?Signature=pageSig&q=1`);
    await page.evaluate(`(${PAGE})(${JSON.stringify(c.url)})`);
    // The image's own resourceFetch (another, e.g. /browser.js's, can come first, in an earlier request).
    const pixel = (s: FlatSpan): boolean => s.name === 'resourceFetch' && String(attrs(s.attributes)['url.full']).includes('/pixel.svg');
    await c.waitFor(() => ['GET', 'navigation', 'documentLoad'].every((n) => c.spans().some((s) => s.name === n)) && c.spans().some(pixel), 10_000);
    const urls = c.spans().flatMap((s) => Object.entries(attrs(s.attributes)).filter(([k]) => k.startsWith('url.') || k === 'navigation.from').map(([, v]) => String(v)));
    const everything = JSON.stringify(c.spans());
    for (const secret of [...SECRETS, 'pageSig']) assert.ok(!everything.includes(secret), `${secret} reached the collector`);
    const find = (part: string): string | undefined => urls.find((u) => u.includes(part));
    assert.match(find('/pixel.svg') ?? '', /\?sig=REDACTED&size=1$/);
    assert.match(find('/api') ?? '', /\?X-Goog-Signature=REDACTED&page=2$/);
    assert.match(find('/next') ?? '', /\?AWSAccessKeyId=REDACTED&Signature=REDACTED&tab=a$/);
    assert.ok(urls.some((u) => /\?Signature=REDACTED&q=1$/.test(u)), 'the document URL');
  } finally {
    await c.close();
    await site.close();
  }
}

inBothBrowsers('no signature reaches the collector in url.full', noSecrets);

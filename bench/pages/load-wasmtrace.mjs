// Page-load cost, wasmtrace: the SDK as an app starts it on page load. Until the
// script-tag build exists this is init() from the package entry plus one span
// covering the page's own work, sent on the first flush.
import { init } from '../../src/index.ts';

const ready = init({ serviceName: 'page', endpoint: `${location.origin}/v1/traces`, storage: null, compression: 'none' });
window.addEventListener('load', async () => {
  const tracer = await ready;
  const span = tracer.startSpan('page.work', { attributes: { 'page.items': document.querySelectorAll('li').length } });
  span.end();
  await tracer.flush();
  window.benchDone = true;
});

// The ESM entry: init() from wasmtrace/browser with options in code (xhr off).
import { init } from '/browser.js';

const meta = (name) => document.querySelector(`meta[name="${name}"]`).content;
window.esmReady = init({
  serviceName: 'e2e-esm',
  endpoint: meta('collector'),
  propagateTo: [meta('api')],
  scheduledDelayMs: 200,
  instrumentations: { xhr: false, longTasks: false },
});

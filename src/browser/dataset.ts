// The script tag's data-* attributes as init() options.
import type { Attributes } from '../types.js';
import type { BrowserInitOptions, InstrumentationOptions } from './types.js';
import { warnOnce } from '../diag.js';

const NUMBERS = ['maxExportBatchSize', 'scheduledDelayMs', 'maxQueueBytes', 'timeoutMs', 'retryInitialDelayMs', 'retryMaxDelayMs', 'maxAttempts', 'maxConcurrentRequests'];

/** data-* attributes → init options. */
export function optionsFromDataset(data: DOMStringMap): BrowserInitOptions {
  const o: Record<string, unknown> = {};
  for (const key in data) {
    const v = data[key] ?? '';
    // An empty value (a template's unset variable: data-sample-ratio="") is as if the attribute were absent:
    // as a number it read 0 (a ratio of 0 kept no trace, silently), as a URL the page's own (data-wasm: no tracing).
    // Flags are the exception: present is on.
    if (!v.trim() && key !== 'debug' && key !== 'disabled' && key !== 'redactQuery') continue;
    if (key === 'propagateTo') {
      // Comma-separated URL prefixes; /…/ for a regular expression.
      // (A comma cannot appear inside one; an invalid one is skipped with a warning.)
      const rules: Array<string | RegExp> = [];
      for (const s of v.split(',').map((x) => x.trim()).filter(Boolean)) {
        if (s.length > 2 && s[0] === '/' && s[s.length - 1] === '/') {
          try {
            rules.push(new RegExp(s.slice(1, -1)));
          } catch {
            warnOnce(`data-propagate-to: ${s} is not a regular expression; skipped`);
          }
        } else {
          rules.push(s);
        }
      }
      o.propagateTo = rules;
    } else if (key === 'disable') {
      // data-disable="longTasks,webVitals": instrumentations to turn off.
      const off: Record<string, boolean> = {};
      for (const name of v.split(',')) if (name.trim()) off[name.trim()] = false;
      o.instrumentations = off as InstrumentationOptions;
    } else if (key === 'sampleRatio') {
      o.sampler = { ratio: Number(v) };
    } else if (key === 'resource') {
      // data-resource="service.version=1.2,deployment.environment.name=prod"
      const r: Attributes = {};
      for (const pair of v.split(',')) {
        const eq = pair.indexOf('=');
        if (eq > 0) r[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
      }
      o.resource = r;
    } else if (key === 'redactQuery') {
      // data-redact-query (or ="true"): every query value; "session_token,code": those keys.
      const keys = v.split(',').map((x) => x.trim()).filter(Boolean);
      if (v === '' || v === 'true') o.redactQuery = true;
      else if (v !== 'false') o.redactQuery = keys;
    } else if (key === 'debug' || key === 'disabled') {
      o[key] = v !== 'false';
    } else {
      o[key] = NUMBERS.includes(key) ? Number(v) : v;
    }
  }
  return o as unknown as BrowserInitOptions;
}

// Long animation frames (https://w3c.github.io/long-animation-frames/), or
// long tasks where only those exist, as spans. Feature-detected through
// PerformanceObserver.supportedEntryTypes: Firefox ESR has neither.
import type { Attributes } from '../types.js';
import type { BrowserContext } from './types.js';
import { double } from '../attributes.js';
import { fullUrl } from '../url.js';
import { observe, redactUrls, unixMs } from './util.js';

interface ScriptTiming {
  invoker?: string;
  sourceURL?: string;
  sourceFunctionName?: string;
  duration?: number;
}

export function instrumentLongTasks(ctx: BrowserContext): void {
  const supported = typeof PerformanceObserver === 'function' ? PerformanceObserver.supportedEntryTypes ?? [] : [];
  const type = supported.includes('long-animation-frame') ? 'long-animation-frame' : supported.includes('longtask') ? 'longtask' : null;
  if (!type) return;
  observe(type, (e) => {
    const attrs: Attributes = { 'browser.long_task.duration_ms': double(e.duration) };
    const loaf = e as PerformanceEntry & { blockingDuration?: number; scripts?: ScriptTiming[] };
    if (typeof loaf.blockingDuration === 'number') attrs['browser.long_task.blocking_duration_ms'] = double(loaf.blockingDuration);
    const script = loaf.scripts?.reduce<ScriptTiming | undefined>((a, s) => (!a || (s.duration ?? 0) > (a.duration ?? 0) ? s : a), undefined);
    if (script?.invoker) attrs['browser.long_task.script.invoker'] = redactUrls(script.invoker, ctx.redact);
    if (script?.sourceURL) attrs['code.file.path'] = fullUrl(script.sourceURL, ctx.redact);
    if (script?.sourceFunctionName) attrs['code.function.name'] = script.sourceFunctionName;
    ctx.tracer.startSpan(type === 'longtask' ? 'longTask' : 'longAnimationFrame', { startTime: unixMs(e.startTime), attributes: attrs }, null).end(unixMs(e.startTime + e.duration));
  }, true);
}

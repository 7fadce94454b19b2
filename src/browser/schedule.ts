// Start-up work is cut into small tasks so that none of it is a long task
// (https://w3c.github.io/longtasks/) and the page's own work and rendering
// can run in between: `nextTask` for what must happen soon, `whenIdle` for
// what only has to happen before the first export.

/** Longest wait for the page's first paint before start-up goes on, ms. */
export const FIRST_PAINT_WAIT_MS = 300;

let channel: MessageChannel | undefined;
const waiting: Array<() => void> = [];

/**
 * Resolves in a new task. A message, not setTimeout: timers of a background
 * tab are throttled to 1 s. One channel for every call (a new MessageChannel
 * per call cost about 0.02 ms of main thread more each, in Chromium).
 */
export function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    if (typeof MessageChannel !== 'function') {
      setTimeout(resolve, 0);
      return;
    }
    if (!channel) {
      channel = new MessageChannel();
      channel.port1.onmessage = () => waiting.shift()?.();
    }
    waiting.push(resolve);
    channel.port2.postMessage(0);
  });
}

/** Runs `fn` when the main thread is idle, or after `timeoutMs` at the latest (setTimeout where there is no requestIdleCallback, as in Safari). */
export function whenIdle(fn: () => void, timeoutMs: number): void {
  const g = globalThis as { requestIdleCallback?: (f: () => void, o: { timeout: number }) => number };
  if (typeof g.requestIdleCallback === 'function') g.requestIdleCallback(fn, { timeout: timeoutMs });
  else setTimeout(fn, 1);
}

/**
 * Resolves in a task after the next frame is painted, or after `maxWaitMs`
 * (no frames come in a background tab). Until a page's first paint its tasks
 * all fall into one long animation frame: start-up work waits past it.
 */
export function afterPaint(maxWaitMs: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, maxWaitMs);
    if (typeof requestAnimationFrame !== 'function') return;
    requestAnimationFrame(() => {
      void nextTask().then(() => {
        clearTimeout(t);
        resolve();
      });
    });
  });
}

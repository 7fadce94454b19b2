// Polling for a condition in tests, rather than sleeping a fixed time and hoping
// it held (the collector's own data: Collector.waitFor and heldStill).

/**
 * Polls `cond` (sync or async) every `everyMs` until it holds; throws after `ms`.
 * A sync condition is checked without an await: it returns in the same turn as the check that passed.
 */
export async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 3000, everyMs = 1): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const held = cond();
    if (typeof held === 'boolean' ? held : await held) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

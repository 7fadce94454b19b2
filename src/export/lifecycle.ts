// Page-lifecycle and network hooks, only where the platform has them
// (browsers; not Workers, WASI hosts or Node).

export interface LifecycleHandlers {
  /** The page is hidden (`final` false) or being unloaded/frozen (`final` true). */
  hidden(final: boolean): void;
  /** The page came back from the back/forward cache. */
  shown?(): void;
  /** The network is back. */
  online?(): void;
}

type Target = {
  addEventListener?(type: string, fn: (e: Event) => void, capture: boolean): void;
  removeEventListener?(type: string, fn: (e: Event) => void, capture: boolean): void;
};

/** Subscribes where possible; returns the function that unsubscribes. */
export function watchLifecycle(h: LifecycleHandlers): () => void {
  const g = globalThis as Target & { document?: Target & { visibilityState?: string } };
  const doc = g.document;
  const subs: Array<() => void> = [];
  const on = (t: Target | undefined, type: string, fn: (e: Event) => void): void => {
    if (typeof t?.addEventListener !== 'function') return;
    t.addEventListener(type, fn, true);
    subs.push(() => t.removeEventListener?.(type, fn, true));
  };
  if (doc) {
    on(doc, 'visibilitychange', () => doc.visibilityState === 'hidden' && h.hidden(false));
    on(g, 'pagehide', () => h.hidden(true));
    on(g, 'pageshow', (e) => (e as Event & { persisted?: boolean }).persisted && h.shown?.());
  }
  on(g, 'online', () => h.online?.());
  return () => {
    for (const off of subs.splice(0)) off();
  };
}

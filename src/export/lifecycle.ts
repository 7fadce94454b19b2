// Page-lifecycle and network hooks, only where the platform has them
// (browsers; not Workers, WASI hosts or Node).

export interface LifecycleHandlers {
  /** The page is hidden (`final` false) or being unloaded/frozen (`final` true). */
  hidden(final: boolean): void;
  /** The page came back from the back/forward cache. */
  shown(): void;
  /** The network is back. */
  online(): void;
}

type Target = {
  addEventListener(type: string, fn: (e: Event) => void, opts?: { capture?: boolean }): void;
  removeEventListener(type: string, fn: (e: Event) => void, opts?: { capture?: boolean }): void;
};

/** Subscribes where possible; returns the function that unsubscribes. */
export function watchLifecycle(h: LifecycleHandlers): () => void {
  const g = globalThis as unknown as Partial<Target> & { document?: Partial<Target> & { visibilityState?: string } };
  const doc = g.document;
  const subs: Array<[Partial<Target>, string, (e: Event) => void]> = [];
  const on = (t: Partial<Target> | undefined, type: string, fn: (e: Event) => void): void => {
    if (typeof t?.addEventListener !== 'function') return;
    t.addEventListener(type, fn, { capture: true });
    subs.push([t, type, fn]);
  };
  if (doc) {
    on(doc, 'visibilitychange', () => {
      if (doc.visibilityState === 'hidden') h.hidden(false);
    });
    on(g, 'pagehide', () => h.hidden(true));
    on(g, 'pageshow', (e) => {
      if ((e as Event & { persisted?: boolean }).persisted) h.shown();
    });
  }
  on(g, 'online', () => h.online());
  return () => {
    for (const [t, type, fn] of subs) t.removeEventListener?.(type, fn, { capture: true });
    subs.length = 0;
  };
}

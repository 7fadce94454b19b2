// Keeps an interaction span open while the requests it started are in flight,
// so its duration covers the work the user's action caused.
import { activeParent } from '../context.js';

interface Open {
  n: number;
  taskDone: boolean;
  end: () => void;
}

const open = new WeakMap<object, Open>();

/** Registers a span that `end`s once its task is done and no request holds it. */
export function track(span: object, end: () => void): void {
  open.set(span, { n: 0, taskDone: false, end });
}

/** The task that started `span` is over. */
export function taskDone(span: object): void {
  const o = open.get(span);
  if (!o || o.taskDone) return;
  o.taskDone = true;
  if (o.n === 0) finish(span, o);
}

/** Ends `span` now whatever holds it (the page is going away). */
export function forceEnd(span: object): void {
  const o = open.get(span);
  if (o) finish(span, o);
}

/** Holds the active span, if tracked, until the returned function runs. */
export function holdActive(): () => void {
  const span = activeParent();
  const o = span && open.get(span);
  if (!span || !o) return () => {};
  o.n++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--o.n <= 0 && o.taskDone) finish(span, o);
  };
}

function finish(span: object, o: Open): void {
  o.end();
  open.delete(span); // after: a pagehide ended inside end() finds it again (prepare.ts: watchUnload)
}

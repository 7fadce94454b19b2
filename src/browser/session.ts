// session.id: a random id kept in localStorage as "id,started,seen" (unix
// ms), so reloads and other tabs of the origin share it. Each read is
// activity: it moves `seen` on (a write at most every idleMs / 30), and
// a new id replaces one not seen for `idleMs` or started `maxMs` ago.
// start.ts reads it at start-up and before each batch is encoded.
import { internalError } from '../diag.js';
import { hex } from './util.js';

const KEY = 'wasmtrace.session'; // outside the delivery queue's `wasmtrace:` prefix

export const SESSION_IDLE_MS = 30 * 60_000;
export const SESSION_MAX_MS = 4 * 60 * 60_000;

/** The record as last written: the page's own session where storage cannot be used. */
let mine = '';

/** The current session id (32 hex digits), started, renewed or kept alive at `nowMs` (unix ms). */
export function sessionId(nowMs = Date.now(), idleMs = SESSION_IDLE_MS, maxMs = SESSION_MAX_MS): string {
  let storage: Storage | undefined;
  let stored = mine;
  try {
    storage = localStorage;
    stored = storage.getItem(KEY) ?? mine; // none stored (storage full): the page's own
  } catch (e) {
    internalError(e); // storage disabled: a session per page
  }
  const [id = '', started, seen] = stored.split(',');
  const since = nowMs - Number(seen);
  // A record seen in the future (the clock was set back) is not live: it would outlast maxMs by as much.
  const live = /^[0-9a-f]{32}$/.test(id) && nowMs - Number(started) < maxMs && since < idleMs && since > -idleMs / 30;
  if (live && since < idleMs / 30) return id;
  const record = live ? `${id},${started},${nowMs}` : `${hex(crypto.getRandomValues(new Uint8Array(16)))},${nowMs},${nowMs}`;
  mine = record;
  try {
    storage?.setItem(KEY, record);
  } catch (e) {
    internalError(e);
  }
  return record.slice(0, 32);
}

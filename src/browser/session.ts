// session.id: a random id kept in localStorage so reloads and other tabs of
// the origin share it, renewed while the user is active and replaced after
// `idleMs` without a page load or `maxMs` in total.
import { internalError } from '../diag.js';
import { hex } from './util.js';

const KEY = 'wasmtrace.session'; // outside the delivery queue's `wasmtrace:` prefix

export const SESSION_IDLE_MS = 30 * 60_000;
export const SESSION_MAX_MS = 4 * 60 * 60_000;

/** The current session id (32 hex digits), started or renewed at `nowMs` (unix ms). */
export function sessionId(nowMs = Date.now(), idleMs = SESSION_IDLE_MS, maxMs = SESSION_MAX_MS): string {
  let storage: Storage | undefined;
  try {
    storage = localStorage;
    const [id, started, seen] = (storage.getItem(KEY) ?? '').split(',');
    if (id && /^[0-9a-f]{32}$/.test(id) && nowMs - Number(started) < maxMs && nowMs - Number(seen) < idleMs) {
      storage.setItem(KEY, `${id},${started},${nowMs}`);
      return id;
    }
  } catch (e) {
    internalError(e); // storage disabled: a session per page
  }
  const id = hex(crypto.getRandomValues(new Uint8Array(16)));
  try {
    storage?.setItem(KEY, `${id},${nowMs},${nowMs}`);
  } catch (e) {
    internalError(e);
  }
  return id;
}

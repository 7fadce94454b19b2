// The write-ahead queue in localStorage, shared by every page of an origin.
// Entries: `<prefix>q:<id>` = `W1,<p|j>,<g|->,<spans>,<bytes>,<packed body>`;
// claims: `<prefix>c:<id>` = `<owner>,<expires unix ms>`; `<prefix>m`, kept,
// says the queue was not cleared by someone else. A page claims an
// entry before it sends it, so two tabs never send one batch; a claim whose
// page died expires and the entry is adopted by the next page. An entry of
// another version's format (`W2,…`) is left to that version, unless the
// bound needs its room and no live page holds it. Headers are
// never written here. Every storage call may throw (quota, disabled storage):
// each is caught and answered as "not stored".
import { pack, packedLength, unpack } from './codec.js';
import { MAX_TIMEOUT_MS } from '../env.js';
import type { StorageLike } from './types.js';

/** How long a page's claim on a stored batch outlasts its longest request (renewed as each starts), ms. */
export const LEASE_MS = 30_000;

/** A batch as the queue stores it. */
export interface StoredBatch {
  readonly _id: string;
  readonly _body: Uint8Array;
  readonly _spans: number;
  readonly _json: boolean;
  readonly _gzip: boolean;
}

/** An entry's header, read without unpacking its body. */
interface EntryInfo {
  readonly _id: string;
  readonly _bytes: number;
  readonly _spans: number;
  /** Another version's entry, or one another page holds that this one cannot read: left alone. */
  readonly _foreign?: boolean;
}

export interface StorageQueue {
  /**
   * Claims and writes a batch, first evicting the oldest entries nobody else
   * holds (never those `busy` says are in flight) until the origin's queue
   * fits `maxBytes`. Returns whether the batch is stored; `evicted` hears of
   * each entry evicted.
   */
  _write(b: StoredBatch, busy: (id: string) => boolean, evicted: (e: EntryInfo) => void): boolean;
  /**
   * True when this page holds the claim (renewed) or could take a free one;
   * false when another page holds or took it; null when storage was cleared
   * under it (the app's localStorage.clear(), site data removed).
   */
  _hold(id: string): boolean | null;
  /** True when storage was cleared by someone else than a page since an entry was written. */
  _cleared(): boolean;
  /** Removes an entry and its claim. */
  _remove(id: string): void;
  /** Gives up the claim so another page may adopt the entry. */
  _release(id: string): void;
  /** Ids of entries no live page holds, oldest first; claims them. */
  _claimFree(skip: (id: string) => boolean): string[];
  /** True when the claim written by `_claimFree` survived (no other page overwrote it). */
  _confirmed(id: string): boolean;
  /** The entry, or null when it is gone or corrupt (corrupt entries are removed and reported). */
  _read(id: string): StoredBatch | null;
}

export function createStorageQueue(
  storage: StorageLike,
  prefix: string,
  maxBytes: number,
  leaseMs: number,
  onCorrupt: (spans: number) => void,
  onError: (e: unknown) => void,
): StorageQueue {
  const owner = Math.random().toString(36).slice(2, 10) + Date.now().toString(36);
  const q = prefix + 'q:';
  const entryKey = (id: string): string => q + id;
  const claimKey = (id: string): string => prefix + 'c:' + id;
  /**
   * Written with the first entry, never removed by a page: gone with an
   * entry, it tells storage cleared from a batch another page sent.
   */
  const markKey = prefix + 'm';
  const cleared = (): boolean => storage.getItem(markKey) === null;
  /** Runs a storage call; a throw is reported and answered with `fallback`. */
  const safe = <T>(f: () => T, fallback: T): T => {
    try {
      return f();
    } catch (e) {
      onError(e);
      return fallback;
    }
  };
  const get = (key: string): string | null => safe(() => storage.getItem(key), null);
  const del = (key: string): void => safe(() => storage.removeItem(key), undefined);
  const remove = (id: string): void => {
    del(entryKey(id));
    del(claimKey(id));
  };
  /**
   * Owner of a live claim, or null when free or expired. No page claims for
   * longer than the longest lease: a claim beyond it was written by a clock
   * since set back (or by no page), and held its batch for that long.
   */
  const claimant = (v: string | null): string | null => {
    const comma = v ? v.indexOf(',') : -1;
    const left = comma > 0 ? +v!.slice(comma + 1) - Date.now() : 0;
    return left > 0 && left <= MAX_TIMEOUT_MS + LEASE_MS ? v!.slice(0, comma) : null;
  };
  const claimantOf = (id: string): string | null => claimant(get(claimKey(id)));
  /** Held by a live page other than this one. */
  const heldElsewhere = (id: string): boolean => (claimantOf(id) ?? owner) !== owner;
  const claim = (id: string): void => storage.setItem(claimKey(id), `${owner},${Date.now() + leaseMs}`);
  /** Claims quietly: a refused claim only means "not now". */
  const tryClaim = (id: string): boolean => {
    try {
      claim(id);
      return true;
    } catch {
      return false;
    }
  };

  /** Our entries' headers, oldest first (ids start with a base-36 time). */
  const entries = (): EntryInfo[] => {
    const out: EntryInfo[] = [];
    const keys: string[] = [];
    const listed = safe(() => {
      for (let i = 0, n = storage.length; i < n; i++) {
        const k = storage.key(i);
        if (k?.startsWith(q)) keys.push(k);
      }
      return true;
    }, false);
    if (!listed) return out;
    for (const k of keys.sort()) {
      const id = k.slice(q.length);
      const v = get(k);
      const head = parseHead(v);
      // A head whose byte count its value does not hold is corrupt: that
      // count (up to 999,999,999) weighed on the bound, evicting every entry.
      if (head && v!.length === head[0].length + packedLength(head[3])) out.push({ _id: id, _bytes: head[3], _spans: head[2] });
      // Another release's (a rolling deploy), or held by a live page: it counts
      // toward the bound, evicted by it only when no live page holds it (a
      // release rolled back would fill it for good). Else removed, counted
      // corrupt when its head names its spans.
      else if (v !== null && (/^(?!W1,)[A-Z]\d+,/.test(v) || heldElsewhere(id))) out.push({ _id: id, _bytes: v.length, _spans: 0, _foreign: true });
      else if (v !== null) {
        remove(id);
        if (head) onCorrupt(head[2]);
      }
    }
    return out;
  };

  return {
    _write(b, busy, evicted) {
      const all = entries().filter((e) => e._id !== b._id);
      let total = all.reduce((sum, e) => sum + e._bytes, 0) + b._body.length;
      const evictable = all.filter((e) => !busy(e._id) && !heldElsewhere(e._id));
      /** Entries evicted and their values: written back when the write fails after all (else they were lost for nothing). */
      const out: Array<[EntryInfo, string | null]> = [];
      const evictOne = (): boolean => {
        const e = evictable.shift();
        if (e) {
          out.push([e, get(entryKey(e._id))]);
          remove(e._id);
          total -= e._bytes;
        }
        return !!e;
      };
      /** The write's outcome: the evictions stand, or are undone (the room they freed takes them back). */
      const done = (stored: boolean): boolean => {
        for (const [e, v] of out) if (stored || v === null || !safe(() => (storage.setItem(entryKey(e._id), v), true), false)) evicted(e);
        return stored;
      };
      while (total > maxBytes && evictOne());
      if (total > maxBytes) return done(false);
      const value = `W1,${b._json ? 'j' : 'p'},${b._gzip ? 'g' : '-'},${b._spans},${b._body.length},${pack(b._body)}`;
      // A quota error makes room by evicting the next oldest, a bounded number of times.
      for (;;) {
        try {
          if (cleared()) storage.setItem(markKey, '1');
          claim(b._id);
          storage.setItem(entryKey(b._id), value);
          return done(true);
        } catch (e) {
          const quota = isQuotaError(e);
          if (!quota) onError(e);
          if (!quota || !evictOne()) {
            remove(b._id);
            return done(false);
          }
        }
      }
    },
    _hold(id) {
      // Storage that fails to answer cannot coordinate tabs: send anyway
      // rather than lose the batch.
      try {
        const c = claimant(storage.getItem(claimKey(id)));
        if (c && c !== owner) return false;
        if (storage.getItem(entryKey(id)) === null) return cleared() ? null : false;
      } catch {
        return true;
      }
      tryClaim(id);
      return true;
    },
    _cleared: () => safe(cleared, false),
    _remove: remove,
    _release(id) {
      if (claimantOf(id) === owner) del(claimKey(id));
    },
    _claimFree(skip) {
      return entries()
        .filter((e) => !e._foreign && !skip(e._id) && claimantOf(e._id) === null && tryClaim(e._id))
        .map((e) => e._id);
    },
    _confirmed(id) {
      return claimantOf(id) === owner;
    },
    _read(id) {
      const v = get(entryKey(id));
      if (v === null) return null;
      const head = parseHead(v);
      const body = head && unpack(v.slice(head[0].length), head[3]);
      if (!body) {
        remove(id);
        onCorrupt(head ? head[2] : 0);
        return null;
      }
      return { _id: id, _body: body, _spans: head![2], _json: head![1][0] === 'j', _gzip: head![1][2] === 'g' };
    },
  };
}

/** [whole head, "<p|j>,<g|->", spans, bytes] of an entry, or null. */
function parseHead(v: string | null): [string, string, number, number] | null {
  const m = v && /^W1,([pj],[g-]),(\d{1,9}),(\d{1,9}),/.exec(v.slice(0, 40));
  return m ? [m[0], m[1]!, +m[2]!, +m[3]!] : null;
}

/** QuotaExceededError across browsers (name, legacy code 22, Firefox's 1014). */
export function isQuotaError(e: unknown): boolean {
  const { name, code } = (e ?? {}) as { name?: unknown; code?: unknown };
  return name === 'QuotaExceededError' || name === 'NS_ERROR_DOM_QUOTA_REACHED' || code === 22 || code === 1014;
}

/** A new batch id: base-36 time (sorts oldest first) and randomness. */
export function newBatchId(): string {
  return Date.now().toString(36).padStart(9, '0') + '-' + Math.random().toString(36).slice(2, 10);
}

// The write-ahead queue in localStorage, shared by every page of an origin.
// Entries: `<prefix>q:<id>` = `W1,<p|j>,<g|->,<spans>,<bytes>,<packed body>`;
// claims: `<prefix>c:<id>` = `<owner>,<expires unix ms>`. A page claims an
// entry before it sends it, so two tabs never send one batch; a claim whose
// page died expires and the entry is adopted by the next page. Headers are
// never written here. Every storage call may throw (quota, disabled storage):
// each is caught and answered as "not stored".
import { pack, unpack } from './codec.js';
import type { StorageLike } from './types.js';

/** A batch as the queue stores it. */
export interface StoredBatch {
  readonly id: string;
  readonly body: Uint8Array;
  readonly spans: number;
  readonly json: boolean;
  readonly gzip: boolean;
}

/** An entry's header, read without unpacking its body. */
interface EntryInfo {
  readonly id: string;
  readonly bytes: number;
  readonly spans: number;
}

export interface StorageQueue {
  /**
   * Claims and writes a batch, first evicting the oldest entries nobody else
   * holds (never those `busy` says are in flight) until the origin's queue
   * fits `maxBytes`. Returns what was evicted and whether the batch is stored.
   */
  write(b: StoredBatch, busy: (id: string) => boolean): { stored: boolean; evicted: EntryInfo[] };
  /** True when this page holds the claim (renewed) or could take a free one. */
  hold(id: string): boolean;
  /** Removes an entry and its claim. */
  remove(id: string): void;
  /** Gives up the claim so another page may adopt the entry. */
  release(id: string): void;
  /** Ids of entries no live page holds, oldest first; claims them. */
  claimFree(skip: (id: string) => boolean): string[];
  /** True when the claim written by `claimFree` survived (no other page overwrote it). */
  confirmed(id: string): boolean;
  /** The entry, or null when it is gone or corrupt (corrupt entries are removed and reported). */
  read(id: string): StoredBatch | null;
}

const VERSION = 'W1';

export function createStorageQueue(
  storage: StorageLike,
  prefix: string,
  maxBytes: number,
  leaseMs: number,
  onCorrupt: (spans: number) => void,
  onError: (e: unknown) => void,
): StorageQueue {
  const owner = Math.random().toString(36).slice(2, 10) + Date.now().toString(36);
  const entryKey = (id: string): string => `${prefix}q:${id}`;
  const claimKey = (id: string): string => `${prefix}c:${id}`;

  const get = (key: string): string | null => {
    try {
      return storage.getItem(key);
    } catch (e) {
      onError(e);
      return null;
    }
  };
  const del = (key: string): void => {
    try {
      storage.removeItem(key);
    } catch (e) {
      onError(e);
    }
  };
  /** Owner of a live claim, or null when free or expired. */
  const claimant = (id: string, now: number): string | null => {
    const v = get(claimKey(id));
    if (!v) return null;
    const comma = v.indexOf(',');
    const expires = Number(v.slice(comma + 1));
    return comma > 0 && expires > now ? v.slice(0, comma) : null;
  };
  const claim = (id: string): boolean => {
    try {
      storage.setItem(claimKey(id), `${owner},${Date.now() + leaseMs}`);
      return true;
    } catch {
      return false;
    }
  };

  /** Our entries' headers, oldest first (ids start with a base-36 time). */
  const entries = (): EntryInfo[] => {
    const out: EntryInfo[] = [];
    const q = `${prefix}q:`;
    const keys: string[] = [];
    try {
      const n = storage.length;
      for (let i = 0; i < n; i++) {
        const k = storage.key(i);
        if (k !== null && k.startsWith(q)) keys.push(k);
      }
    } catch (e) {
      onError(e);
      return out;
    }
    keys.sort();
    for (const k of keys) {
      const id = k.slice(q.length);
      const head = parseHead(get(k));
      if (head) out.push({ id, bytes: head.bytes, spans: head.spans });
      else drop(id, 0);
    }
    return out;
  };

  const drop = (id: string, spans: number): void => {
    del(entryKey(id));
    del(claimKey(id));
    onCorrupt(spans);
  };

  return {
    write(b, busy) {
      const evicted: EntryInfo[] = [];
      const now = Date.now();
      const all = entries().filter((e) => e.id !== b.id);
      let total = all.reduce((sum, e) => sum + e.bytes, 0);
      const evictable = all.filter((e) => !busy(e.id) && (claimant(e.id, now) ?? owner) === owner);
      const evictOne = (): boolean => {
        const e = evictable.shift();
        if (!e) return false;
        del(entryKey(e.id));
        del(claimKey(e.id));
        total -= e.bytes;
        evicted.push(e);
        return true;
      };
      while (total + b.body.length > maxBytes && evictOne());
      if (total + b.body.length > maxBytes) return { stored: false, evicted };
      const value = `${VERSION},${b.json ? 'j' : 'p'},${b.gzip ? 'g' : '-'},${b.spans},${b.body.length},${pack(b.body)}`;
      // A quota error makes room by evicting the next oldest, a bounded number of times.
      for (;;) {
        try {
          storage.setItem(claimKey(b.id), `${owner},${Date.now() + leaseMs}`);
          storage.setItem(entryKey(b.id), value);
          return { stored: true, evicted };
        } catch (e) {
          if (!isQuotaError(e)) onError(e);
          if (!isQuotaError(e) || !evictOne()) {
            del(entryKey(b.id));
            del(claimKey(b.id));
            return { stored: false, evicted };
          }
        }
      }
    },
    hold(id) {
      // Storage that fails to answer cannot coordinate tabs: send anyway
      // rather than lose the batch.
      try {
        const v = storage.getItem(claimKey(id));
        const comma = v ? v.indexOf(',') : -1;
        const live = v !== null && comma > 0 && Number(v.slice(comma + 1)) > Date.now();
        if (live && v.slice(0, comma) !== owner) return false;
        if (storage.getItem(entryKey(id)) === null) return false;
      } catch {
        return true;
      }
      claim(id);
      return true;
    },
    remove(id) {
      del(entryKey(id));
      del(claimKey(id));
    },
    release(id) {
      if (claimant(id, Date.now()) === owner) del(claimKey(id));
    },
    claimFree(skip) {
      const now = Date.now();
      const ids: string[] = [];
      for (const e of entries()) {
        if (skip(e.id) || claimant(e.id, now) !== null) continue;
        if (claim(e.id)) ids.push(e.id);
      }
      return ids;
    },
    confirmed(id) {
      return claimant(id, Date.now()) === owner;
    },
    read(id) {
      const v = get(entryKey(id));
      if (v === null) return null;
      const head = parseHead(v);
      const body = head ? unpack(v.slice(head.at), head.bytes) : null;
      if (!head || !body) {
        drop(id, head ? head.spans : 0);
        return null;
      }
      return { id, body, spans: head.spans, json: head.json, gzip: head.gzip };
    },
  };
}

interface Head {
  readonly json: boolean;
  readonly gzip: boolean;
  readonly spans: number;
  readonly bytes: number;
  /** Index where the packed body starts. */
  readonly at: number;
}

function parseHead(v: string | null): Head | null {
  if (v === null) return null;
  const m = /^W1,([pj]),([g-]),(\d{1,9}),(\d{1,9}),/.exec(v.slice(0, 40));
  if (!m || m[1] === undefined || m[2] === undefined) return null;
  return { json: m[1] === 'j', gzip: m[2] === 'g', spans: Number(m[3]), bytes: Number(m[4]), at: m[0].length };
}

/** QuotaExceededError across browsers (name, legacy code 22, Firefox's 1014). */
export function isQuotaError(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const { name, code } = e as { name?: unknown; code?: unknown };
  return name === 'QuotaExceededError' || name === 'NS_ERROR_DOM_QUOTA_REACHED' || code === 22 || code === 1014;
}

/** A new batch id: base-36 time (sorts oldest first) and randomness. */
export function newBatchId(): string {
  return `${Date.now().toString(36).padStart(9, '0')}-${Math.random().toString(36).slice(2, 10)}`;
}

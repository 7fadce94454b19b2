// An in-memory Web Storage (localStorage) faithful to the parts of the spec
// and of browsers that delivery depends on (docs/platform.md):
// - a quota of 5,242,880 UTF-16 code units per origin, counting keys and values;
// - QuotaExceededError as a DOMException (name 'QuotaExceededError', code 22),
//   leaving the old value in place;
// - key(i)/length in a stable order that changes only when keys are added or removed;
// - one backing area shared by every "tab" opened on it;
// - `storage` events, queued as tasks, to every other tab, never to the writer;
// - a disabled mode in which every access throws SecurityError, as with
//   blocked site data.

export const DEFAULT_QUOTA_UNITS = 5_242_880;

export interface StorageEventLike {
  readonly key: string | null;
  readonly oldValue: string | null;
  readonly newValue: string | null;
  readonly storageArea: MemoryStorage;
}

/** The origin's storage, shared by the tabs opened on it. */
export interface StorageArea {
  /** A new tab's `localStorage` over this area. */
  open(): MemoryStorage;
  /** Code units used (keys + values). */
  used(): number;
  /** Every key and value, in key() order (for assertions). */
  entries(): Array<[string, string]>;
  /** Writes without quota or events, as another program might (for corrupting data). */
  poke(key: string, value: string): void;
  /** When true, every access from any tab throws SecurityError. */
  disabled: boolean;
  readonly quota: number;
}

export function createStorageArea(opts: { quota?: number } = {}): StorageArea {
  const data = new Map<string, string>();
  const tabs = new Set<MemoryStorage>();
  let used = 0;
  const area: StorageArea & { _data: Map<string, string>; _tabs: Set<MemoryStorage>; _used: () => number; _add: (n: number) => void } = {
    quota: opts.quota ?? DEFAULT_QUOTA_UNITS,
    disabled: false,
    open() {
      const s = new MemoryStorage(area);
      tabs.add(s);
      return s;
    },
    used: () => used,
    entries: () => [...data.entries()],
    poke(key, value) {
      const old = data.get(key);
      used += key.length + value.length - (old === undefined ? 0 : key.length + old.length);
      data.set(key, value);
    },
    _data: data,
    _tabs: tabs,
    _used: () => used,
    _add: (n) => {
      used += n;
    },
  };
  return area;
}

type Internal = StorageArea & {
  _data: Map<string, string>;
  _tabs: Set<MemoryStorage>;
  _used: () => number;
  _add: (n: number) => void;
};

type Listener = (e: StorageEventLike) => void;

/** One tab's view of a StorageArea (the Storage interface). */
export class MemoryStorage {
  private readonly _area: Internal;
  private readonly _listeners = new Set<Listener>();

  constructor(area: StorageArea) {
    this._area = area as Internal;
  }

  private _check(): void {
    if (this._area.disabled) throw new DOMException('The operation is insecure.', 'SecurityError');
  }

  get length(): number {
    this._check();
    return this._area._data.size;
  }

  key(index: number): string | null {
    this._check();
    const i = Math.trunc(Number(index));
    if (!(i >= 0) || i >= this._area._data.size) return null;
    let n = 0;
    for (const k of this._area._data.keys()) if (n++ === i) return k;
    return null;
  }

  getItem(key: string): string | null {
    this._check();
    return this._area._data.get(String(key)) ?? null;
  }

  setItem(key: string, value: string): void {
    this._check();
    const k = String(key);
    const v = String(value);
    const old = this._area._data.get(k);
    if (old === v) return; // no change, no event
    const delta = old === undefined ? k.length + v.length : v.length - old.length;
    if (this._area._used() + delta > this._area.quota) {
      throw new DOMException(`Setting the value of '${k}' exceeded the quota.`, 'QuotaExceededError');
    }
    this._area._data.set(k, v);
    this._area._add(delta);
    this._broadcast(k, old ?? null, v);
  }

  removeItem(key: string): void {
    this._check();
    const k = String(key);
    const old = this._area._data.get(k);
    if (old === undefined) return;
    this._area._data.delete(k);
    this._area._add(-(k.length + old.length));
    this._broadcast(k, old, null);
  }

  clear(): void {
    this._check();
    if (this._area._data.size === 0) return;
    this._area._data.clear();
    this._area._add(-this._area._used());
    this._broadcast(null, null, null);
  }

  addEventListener(type: 'storage', fn: Listener): void {
    if (type === 'storage') this._listeners.add(fn);
  }

  removeEventListener(type: 'storage', fn: Listener): void {
    if (type === 'storage') this._listeners.delete(fn);
  }

  private _broadcast(key: string | null, oldValue: string | null, newValue: string | null): void {
    for (const tab of this._area._tabs) {
      if (tab === this) continue;
      // Events arrive as tasks, after the writer's script has run on.
      setTimeout(() => tab._emit({ key, oldValue, newValue, storageArea: tab }), 0);
    }
  }

  private _emit(e: StorageEventLike): void {
    for (const fn of this._listeners) fn(e);
  }
}

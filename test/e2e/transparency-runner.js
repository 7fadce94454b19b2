// Page side of the transparency tests (transparency-env.ts): runs each
// generated case as an app would, and records what the app saw, as JSON
// text, before the SDK is ready and after. The same file in every variant.
'use strict';
(() => {
  let API = '';
  // Page-independent text: origins by name, blob URLs without their random ids.
  const strip = (u) => String(u).split(location.origin).join('SITE').split(API).join('API').replace(/blob:SITE\/[-0-9a-f]+/g, 'blob:SITE/ID');
  /** An error as the app sees it: its class, name, message. */
  const err = (e) => (e !== null && typeof e === 'object' ? ['throw', Object.getPrototypeOf(e)?.constructor?.name, e.name, strip(e.message), e instanceof Error, e instanceof DOMException] : ['throw', typeof e, String(e)]);
  const attempt = (fn) => {
    try {
      const v = fn();
      return v === undefined ? 'ok' : ['ok', typeof v];
    } catch (e) {
      return err(e);
    }
  };
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  /**
   * Resolves once a request of case `tag` has reached a server (asked of the site's /seen), or
   * `over()` says it never will, or after 10 s: a request is cut short only then, so whether
   * it is on the wire does not depend on how fast a loaded machine sends it.
   */
  const reached = async (tag, over) => {
    const deadline = Date.now() + 10_000;
    while (!over() && Date.now() < deadline) {
      try {
        if ((await (await fetch(`/seen?t=${tag}`, { cache: 'no-store' })).text()) === '1') return;
      } catch {}
      await sleep(20);
    }
  };

  const urlOf = (dest, path, tag) => {
    const q = `${path}?c=${tag}`;
    return dest === 'rel' ? q : dest === 'same' ? location.origin + q : `${API}/${dest}${q}`;
  };

  // ---- fetch
  const bodyOf = (kind, seen) => {
    switch (kind) {
      case 'text': return 'hello body';
      case 'blob': return new Blob(['blob body'], { type: 'text/x-app' });
      case 'form': { const f = new FormData(); f.append('a', '1'); f.append('f', new Blob(['x']), 'f.txt'); return (seen.form = f); }
      case 'params': return new URLSearchParams('a=1&b=2');
      case 'buffer': return new Uint8Array([1, 2, 3, 250]).buffer;
      case 'view': return new Uint8Array([9, 8, 7]);
      case 'stream': return (seen.stream = new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode('streamed')); c.close(); } }));
      default: return undefined;
    }
  };
  const headersOf = (kind, seen) => {
    const h = { obj: { 'x-one': '1' }, tp: { traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`, tracestate: 'app=1' }, bag: { baggage: 'app=b', 'x-two': '2' }, forbidden: { 'x-ok': '1', 'content-length': '999', cookie: 'c=1' }, bad: { 'bad name': 'x' }, ctype: { 'content-type': 'application/json' } };
    if (kind === 'headers') return (seen.headers = new Headers({ 'x-h': 'h', Accept: 'text/x-app' }));
    if (kind === 'array') return [['x-arr', '1'], ['x-arr', '2']];
    return h[kind];
  };
  const signalOf = (kind, seen) => {
    if (kind === 'aborted') { const c = new AbortController(); c.abort(); return c.signal; }
    if (kind === 'reason') return AbortSignal.abort(new RangeError('app reason'));
    if (kind === 'mid') { const c = new AbortController(); seen.abort = () => c.abort(); return c.signal; }
    if (kind === 'midReason') { const c = new AbortController(); seen.abort = () => c.abort('why'); return c.signal; }
    if (kind === 'bad') return 'not a signal';
    return undefined;
  };
  /** A RequestInit from its description: only the members it names. */
  const initOf = (o, seen) => {
    const init = {};
    for (const k of ['method', 'keepalive', 'mode', 'redirect', 'referrerPolicy', 'referrer', 'cache', 'credentials', 'duplex', 'integrity', 'priority']) if (o[k] !== undefined) init[k] = o[k];
    if (o.body) init.body = bodyOf(o.body, seen);
    if (o.headers) init.headers = headersOf(o.headers, seen);
    if (o.signal) init.signal = signalOf(o.signal, seen);
    return init;
  };
  const response = async (res) => {
    const r = [res instanceof Response, Object.getPrototypeOf(res) === Response.prototype, res.type, res.status, res.statusText, res.redirected, strip(res.url), [...res.headers].filter(([k]) => k !== 'date')];
    try {
      r.push(await res.text());
    } catch (e) {
      r.push(err(e));
    }
    return r;
  };
  const fetchCase = async (k, tag) => {
    const seen = {};
    const url = urlOf(k.dest, k.path, tag);
    let input;
    switch (k.input) {
      case 'url': input = new URL(url, location.href); break;
      case 'request': input = (seen.request = new Request(url, initOf(k.req ?? {}, seen))); break;
      case 'null': input = null; break;
      case 'data': input = 'data:text/plain,hi%20there'; break;
      case 'blob': input = URL.createObjectURL(new Blob(['blob text'])); break;
      case 'revoked': input = URL.createObjectURL(new Blob(['gone'])); URL.revokeObjectURL(input); break;
      case 'tostring': input = { toString: () => url }; break;
      default: input = url;
    }
    let init;
    if (k.init === 'plain') init = initOf(k.opts, seen);
    else if (k.init === 'inherited') init = Object.create(initOf(k.opts, seen));
    else if (k.init === 'class') { const own = initOf(k.opts, seen); init = new (class { get method() { return own.method; } get headers() { return own.headers; } get body() { return own.body; } })(); }
    else if (k.init === 'request') init = new Request(urlOf('same', '/r/200', tag + 'i'), initOf(k.opts, seen));
    else if (k.init === 'empty') init = {};
    else if (k.init === 'null') init = null;
    const keysBefore = init && typeof init === 'object' ? JSON.stringify(Object.keys(init)) : '';
    const args = k.init === 'absent' ? [input] : k.init === 'undefined' ? [input, undefined] : [input, init];
    if (k.input === 'none') args.length = 0;
    const rec = {};
    let p;
    try {
      const f = window.fetch;
      p = k.call === 'obj' ? ({ fetch: f }).fetch(...args) : k.call === 'window' ? f.apply(window, args) : k.call === 'undef' ? f.apply(undefined, args) : fetch(...args);
      rec.sync = 'returned';
    } catch (e) {
      rec.sync = err(e);
    }
    if (p) {
      rec.promise = [p instanceof Promise, Object.getPrototypeOf(p) === Promise.prototype];
      // Mid-flight: once the request has reached the server, long before /slow answers (4 s).
      // Only on a request to /slow: on a fast answer, whether the abort comes first is up to the machine's load.
      if (seen.abort && k.path === '/slow' && ['string', 'rel', 'url', 'request', 'tostring'].includes(k.input)) {
        let settled = false;
        p.then(() => (settled = true), () => (settled = true));
        reached(tag, () => settled).then(seen.abort);
      }
      try {
        rec.res = await response(await p);
      } catch (e) {
        rec.rej = err(e);
      }
    }
    if (seen.request) rec.request = [seen.request.bodyUsed, [...seen.request.headers], seen.request.referrerPolicy, seen.request.signal.aborted];
    if (seen.headers) rec.headers = [...seen.headers];
    if (seen.stream) rec.stream = seen.stream.locked;
    if (seen.form) rec.form = [...seen.form.keys()];
    if (keysBefore) rec.keys = keysBefore === JSON.stringify(Object.keys(init));
    return rec;
  };

  // ---- XMLHttpRequest
  class AppXhr extends XMLHttpRequest {
    open(...a) {
      this.opened = (this.opened ?? 0) + 1;
      return super.open(...a);
    }
  }
  const xhrBody = (kind) => (kind === 'doc' ? document.implementation.createHTMLDocument('d') : bodyOf(kind, {}));
  const xhrOp = (x, op, tag) => {
    switch (op[0]) {
      case 'open': {
        const u = urlOf(op[2], op[3], tag);
        const a = op[4] === 'omit' ? [op[1], u] : [op[1], u, op[4] === 'undef' ? undefined : op[4]];
        return x.open(...a);
      }
      case 'header': return x.setRequestHeader(op[1], op[2]);
      case 'header1': return x.setRequestHeader(op[1]);
      case 'rt': x.responseType = op[1]; return undefined;
      case 'timeout': x.timeout = op[1]; return undefined;
      case 'cred': x.withCredentials = op[1]; return undefined;
      case 'mime': return x.overrideMimeType(op[1]);
      case 'send': return op[1] ? x.send(xhrBody(op[1])) : x.send();
      case 'abort': return x.abort();
      default: throw new Error(`no op ${op[0]}`);
    }
  };
  const responseOf = (x) => {
    const r = [x.readyState, x.status, x.statusText, strip(x.responseURL), x.responseType];
    r.push(attempt(() => x.responseText) === 'ok' ? ['text', x.responseText] : attempt(() => x.responseText));
    const v = x.response;
    r.push(v instanceof ArrayBuffer ? ['buffer', v.byteLength] : v instanceof Blob ? ['blob', v.size, v.type] : v instanceof Document ? ['doc', v.documentElement?.outerHTML.length] : v);
    r.push(x.getAllResponseHeaders().split('\r\n').filter((l) => l && !l.startsWith('date')).sort());
    return r;
  };
  const xhrCase = async (k, tag) => {
    const x = k.ctor === 'sub' ? new AppXhr() : new XMLHttpRequest();
    const events = [];
    let ends = 0;
    // Between a loadstart and its loadend (or a reopen, which ends the request without one).
    let started = false;
    let wake = () => {};
    const note = (e, how) => {
      const last = events[events.length - 1];
      const entry = `${how}${e.type} ${x.readyState} ${x.status} ${e.target === x} ${e.currentTarget === x}`;
      if (last !== entry || e.type !== 'readystatechange') events.push(entry);
    };
    for (const type of ['readystatechange', 'loadstart', 'load', 'error', 'abort', 'timeout', 'loadend']) {
      x.addEventListener(type, function (e) {
        note(e, this === x ? '' : 'this! ');
        if (type === 'loadstart') started = true;
        if (type === 'loadend' || (type === 'readystatechange' && x.readyState === 1)) started = false;
        if (type === 'readystatechange' && k.abortAt === x.readyState) events.push(['abort()', attempt(() => x.abort())]);
        if (type === 'loadend') {
          ends++;
          if (k.reuse && ends === 1) events.push(['reuse', k.reuse.map((op) => attempt(() => xhrOp(x, op, tag + 'b')))]);
          wake();
        }
      });
    }
    x.onload = function (e) { note(e, this === x ? 'on' : 'on this! '); };
    if (k.upload) x.upload.addEventListener('progress', () => {});
    const ops = k.ops.map((op) => attempt(() => xhrOp(x, op, tag)));
    // The app's timeout at 500 ms on /slow fires only once the request has reached the server: a
    // preflighted request on a loaded machine can take longer to get there. Set again while in flight,
    // a timeout counts from the send (XHR spec), so it fires at once if 500 ms have gone by.
    if (started && x.readyState === 1 && k.ops.some((o) => o[0] === 'timeout' && o[1] === 500)) {
      x.timeout = 0;
      reached(tag, () => !started).then(() => attempt(() => (x.timeout = 500)));
    }
    if (k.abortLater) setTimeout(() => x.abort(), 80);
    const want = k.reuse ? 2 : 1;
    // A bound only: past /slow's 4 s, every case ends with its loadend (or never sends) long before.
    // Waits for the request still in flight too: a synchronous request's loadend counts in `ends`
    // before the app reopens the XHR for an asynchronous one.
    const deadline = Date.now() + 10_000;
    // UNSENT: nothing in flight, even when no loadend came (Chromium fires none for an abort() in the
    // readystatechange of DONE).
    const waiting = () => x.readyState !== 0 && (started || x.readyState === 2 || x.readyState === 3
      || (ends < want && !(x.readyState === 1 && !k.ops.some((o) => o[0] === 'send'))));
    while (Date.now() < deadline && waiting()) {
      await Promise.race([new Promise((r) => (wake = r)), sleep(250)]);
    }
    await sleep(0);
    return { ops, events, res: responseOf(x), opened: x.opened };
  };

  // ---- history
  let depth = 0;
  const historyArgs = (kind, tag) => {
    const state = { tag, n: [1, 2] };
    switch (kind) {
      case 'query': return [state, '', `?q=${tag}`];
      case 'hash': return [state, '', `#${tag}`];
      case 'path': return [state, 'title', `/t.html?p=${tag}`];
      case 'nourl': return [state, ''];
      case 'undef': return [state, '', undefined];
      case 'null': return [null, '', null];
      case 'one': return [state];
      case 'none': return [];
      case 'cross': return [state, '', 'http://example.invalid/x'];
      case 'bad': return [state, '', 'http://[bad'];
      case 'clone': return [{ f: () => 1 }, '', `?c=${tag}`];
      default: throw new Error(`no args ${kind}`);
    }
  };
  const historyCase = async (k, tag) => {
    const seen = [];
    const onpop = (e) => seen.push(['popstate', JSON.stringify(e.state), strip(location.href)]);
    const onhash = (e) => seen.push(['hashchange', strip(e.newURL)]);
    addEventListener('popstate', onpop);
    addEventListener('hashchange', onhash);
    const before = history.length;
    const args = historyArgs(k.args, tag);
    const f = k.call === 'proto' ? History.prototype[k.op] : history[k.op];
    const self = k.call === 'badThis' ? {} : history;
    const out = {};
    try {
      const v = k.call === 'detached' ? f(...args) : f.apply(self, args);
      out.ret = v === undefined ? 'undefined' : typeof v;
    } catch (e) {
      out.ret = err(e);
    }
    out.after = [strip(location.href), history.length - before, JSON.stringify(history.state)];
    depth += history.length - before;
    // Back within this document only (before its first entry is the last page).
    if (k.back && depth > 0) {
      depth--;
      const popped = new Promise((r) => addEventListener('popstate', r, { once: true }));
      history.back();
      // The traversal is asynchronous (in Chromium through the browser process): on a loaded machine
      // it can take longer than any short fixed wait. Bounded only.
      await Promise.race([popped, sleep(10_000)]);
    }
    await sleep(50); // a hashchange is a task of its own
    removeEventListener('popstate', onpop);
    removeEventListener('hashchange', onhash);
    out.seen = seen;
    out.end = [strip(location.href), JSON.stringify(history.state)];
    return out;
  };

  // ---- events (interactions)
  const el = (id) => (id === 'window' ? window : id === 'document' ? document : document.getElementById(id));
  const eventCase = async (k, tag) => {
    const log = [];
    const target = el(k.target);
    const removers = [];
    for (const [i, [where, capture, action]] of k.listeners.entries()) {
      const node = where === 'target' ? target : el(where);
      const fn = function (e) {
        log.push(`${i} ${where} ${e.type} ${this === e.currentTarget} ${e.eventPhase} ${e.defaultPrevented} ${e.isTrusted} ${e.target === target}`);
        if (action === 'stop') e.stopPropagation();
        if (action === 'stopNow') e.stopImmediatePropagation();
        if (action === 'prevent') e.preventDefault();
        if (action === 'micro') queueMicrotask(() => log.push(`${i} micro`));
        if (action === 'promise') Promise.resolve().then(() => log.push(`${i} then`)).then(() => log.push(`${i} then2`));
        if (action === 'timer') setTimeout(() => log.push(`${i} timer`), 0);
        if (action === 'throw') throw new RangeError(`listener ${i} ${tag}`);
      };
      node.addEventListener(k.type, fn, capture);
      removers.push(() => node.removeEventListener(k.type, fn, capture));
    }
    // A submission goes to the hidden frame (the page stays) when a listener stops the event first.
    const keep = (e) => e.type === 'submit' && e.preventDefault();
    document.addEventListener('submit', keep);
    const onerror = (e) => log.push(`error ${e.message} ${e.error instanceof RangeError}`);
    addEventListener('error', onerror);
    let ret;
    try {
      if (k.how === 'method' && k.type === 'click') ret = target.click();
      else if (k.how === 'method' && k.type === 'submit') ret = el('f').requestSubmit();
      else ret = target.dispatchEvent(k.type === 'click' ? new MouseEvent('click', { bubbles: k.bubbles, cancelable: true }) : new Event(k.type, { bubbles: k.bubbles, cancelable: true }));
      log.push(`returned ${ret}`);
    } catch (e) {
      log.push(err(e));
    }
    log.push('sync end');
    await sleep(0);
    await sleep(0);
    for (const r of removers) r();
    document.removeEventListener('submit', keep);
    removeEventListener('error', onerror);
    return [log, el('i').checked, strip(location.href)];
  };

  // ---- errors and rejections
  const valueOf = (kind, tag, reads) => {
    switch (kind) {
      case 'error': return new Error(`e ${tag}`);
      case 'type': return new TypeError(`t ${tag}`);
      case 'custom': { class AppError extends Error { constructor(m) { super(m); this.name = 'AppError'; this.code = 7; } } return new AppError(`c ${tag}`); }
      case 'string': return `s ${tag}`;
      case 'undefined': return undefined;
      case 'null': return null;
      case 'number': return 42;
      case 'object': return { message: `o ${tag}`, code: 1 };
      case 'getters': return { get message() { reads.push('message'); return `g ${tag}`; }, get stack() { reads.push('stack'); return 'at x'; }, get name() { reads.push('name'); return 'G'; }, toString() { reads.push('toString'); return `G ${tag}`; } };
      case 'frozen': return Object.freeze(new Error(`f ${tag}`));
      default: throw new Error(`no value ${kind}`);
    }
  };
  const errorCase = async (k, tag) => {
    const log = [];
    const reads = [];
    const value = valueOf(k.value, tag, reads);
    const onerr = function (e) { log.push(['error', strip(e.message), strip(e.filename), e.lineno > 0, e.error === value, e.defaultPrevented, this === window]); if (k.prevent) e.preventDefault(); };
    const onrej = function (e) { log.push(['unhandledrejection', e.reason === value, e.defaultPrevented, this === window, e.promise instanceof Promise]); if (k.prevent) e.preventDefault(); };
    const onhandled = (e) => log.push(['rejectionhandled', e.reason === value]);
    addEventListener('error', onerr);
    addEventListener('unhandledrejection', onrej);
    addEventListener('rejectionhandled', onhandled);
    const old = window.onerror;
    if (k.onerror) window.onerror = function (message, source, line, col, error) { log.push(['onerror', strip(message), strip(source), line > 0, error === value, this === window]); return k.onerror === 'true'; };
    if (k.how === 'timer') setTimeout(() => { throw value; }, 0);
    else if (k.how === 'reject' || k.how === 'late') {
      const p = Promise.reject(value);
      if (k.how === 'late') setTimeout(() => p.catch(() => log.push('caught')), 60);
    } else if (k.how === 'async') (async () => { await null; throw value; })();
    else if (k.how === 'listener') { const t = new EventTarget(); t.addEventListener('x', () => { throw value; }); log.push(['dispatch', t.dispatchEvent(new Event('x'))]); }
    await sleep(30);
    await sleep(80);
    removeEventListener('error', onerr);
    removeEventListener('unhandledrejection', onrej);
    removeEventListener('rejectionhandled', onhandled);
    window.onerror = old;
    // Not `reads`: the SDK reads an error's name, message and stack (and String() of another reason) to record it (review-s14-web.md).
    return log;
  };

  // ---- the Resource Timing buffer, at a size the app set
  const bufferCase = async (k, tag) => {
    let full = 0;
    const on = () => full++;
    performance.addEventListener('resourcetimingbufferfull', on);
    performance.clearResourceTimings();
    performance.setResourceTimingBufferSize(k.size);
    for (let i = 0; i < k.size + 3; i++) await (await fetch(`/r/200?c=${tag}x${i}`)).text();
    await sleep(50);
    const n = performance.getEntriesByType('resource').length;
    performance.removeEventListener('resourcetimingbufferfull', on);
    performance.clearResourceTimings();
    performance.setResourceTimingBufferSize(250);
    return [n, full > 0];
  };

  // ---- what the wrapped functions look like
  const shapeCase = () => {
    const fn = (f) => [f.name, f.length, typeof f, 'prototype' in f];
    const x = XMLHttpRequest.prototype;
    return [fn(fetch), fn(x.open), fn(x.send), fn(x.setRequestHeader), fn(history.pushState), fn(history.replaceState), fetch === window.fetch, Object.keys(x).length];
  };

  const suites = { fetch: fetchCase, xhr: xhrCase, page: (k, tag) => ({ history: historyCase, event: eventCase, error: errorCase, shape: shapeCase, buffer: bufferCase })[k.kind](k, tag) };

  /** Runs every case before the SDK is ready, lets the Wasm come, and runs them again after. */
  window.runSuite = async (suite, cases, { api, ready }) => {
    API = api;
    let isReady = false;
    const one = suites[suite];
    const outcomes = cases.map(() => []);
    let lateEarly = 0;
    for (const [p, phase] of ['e', 'r'].entries()) {
      if (p === 1) {
        await fetch('/release');
        await ready();
        isReady = true;
      } else Promise.resolve(ready()).then(() => (isReady = true));
      for (const [i, k] of cases.entries()) {
        if (p === 0 && isReady) lateEarly++;
        let out;
        try {
          out = await one(k, `${phase}${i}`);
        } catch (e) {
          out = ['runner', err(e)];
        }
        outcomes[i][p] = JSON.stringify(out);
      }
    }
    return { outcomes, lateEarly };
  };
})();

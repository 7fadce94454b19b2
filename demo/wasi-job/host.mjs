// A WASI host for Node that adds WasmEdge's socket extension, for the tests,
// the benchmark and the demo where WasmEdge itself is not installed.
//
// node:wasi has no sockets, and its calls are synchronous while node:net is
// not. So the module runs in a worker (host-worker.mjs); each socket call
// there posts a request and blocks on Atomics.wait, and this thread does the
// node:net work and wakes it. The calls and structs follow WasmEdge's
// wasi_snapshot_preview1 socket extension (sock_open, sock_connect,
// sock_send, sock_recv, sock_getaddrinfo, sock_setsockopt for the two
// timeouts; fd_close closes a socket), checked against a real WasmEdge
// (docs/wasi.md), and fds are large random numbers, as WasmEdge's are, so
// nothing may assume small fds.
//
// CLI: node demo/wasi-job/host.mjs [--no-sockets] module.wasm [args...]
//      (the OTEL_* / TRACEPARENT / ORDERS variables of this process are passed on)
import { Worker } from 'node:worker_threads';
import { createConnection } from 'node:net';
import { lookup } from 'node:dns/promises';
import { openSync, closeSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const OP = { OPEN: 1, CONNECT: 2, SEND: 3, RECV: 4, CLOSE: 5, GETADDRINFO: 6, SETOPT: 7 };
export const CTL_BYTES = 64;
export const DATA_BYTES = 1 << 20;
// WASI errno values, as WasmEdge returns them (the AI* ones are its getaddrinfo errors).
const E = {
  SUCCESS: 0, AGAIN: 6, BADF: 8, CONNREFUSED: 14, CONNRESET: 15, HOSTUNREACH: 23, INPROGRESS: 26, INVAL: 28,
  IO: 29, NOTSUP: 58, PIPE: 64, TIMEDOUT: 73, AIAGAIN: 78, AIFAIL: 80, AINONAME: 84,
};

/**
 * Runs a WASI module to completion.
 * @param {object} o
 * @param {string|URL} o.wasm path of the module
 * @param {string[]} [o.args] argv after the program name
 * @param {Record<string,string>} [o.env] the module's whole environment
 * @param {'wasmedge'|'nosys'|false} [o.sockets] WasmEdge socket calls; 'nosys': present but
 *   answering ENOSYS; false: not supplied at all (a module importing them fails to link)
 * @param {Record<string,string>} [o.preopens] guest path → host directory
 * @param {boolean} [o.deterministic] counter clocks and counter entropy (for comparing runs)
 * @param {number[]} [o.entropy] the bytes random_get hands out, over and over (real clocks): the
 *   ids a JS tracer seeded with the same bytes makes
 * @param {number} [o.timeoutMs] the worker is terminated after this long
 * @param {Record<string,string>} [o.hosts] names sock_getaddrinfo resolves to the given
 *   address without a lookup (as /etc/hosts would), for tests
 * @param {Record<string,{from:number,errno:number}>} [o.faults] for tests: the named WASI import
 *   (clock_time_get, sock_recv, ...) answers `errno` from its `from`-th call on (1: every call)
 * @returns {Promise<{ exitCode: number, stdout: string, stderr: string, socketFds: number[], socketCalls: Record<string, number> }>}
 */
export async function runWasi(o) {
  const dir = mkdtempSync(join(tmpdir(), 'wasmtrace-wasi-'));
  const outFd = openSync(join(dir, 'stdout'), 'w+');
  const errFd = openSync(join(dir, 'stderr'), 'w+');
  const sab = new SharedArrayBuffer(CTL_BYTES + DATA_BYTES);
  const ctl = new Int32Array(sab, 0, CTL_BYTES / 4);
  const data = new Uint8Array(sab, CTL_BYTES, DATA_BYTES);
  const sockets = new Map();
  const socketFds = [];
  const socketCalls = {};
  const worker = new Worker(new URL('./host-worker.mjs', import.meta.url), {
    workerData: {
      wasm: o.wasm instanceof URL ? fileURLToPath(o.wasm) : String(o.wasm),
      args: o.args ?? [], env: o.env ?? {}, preopens: o.preopens ?? {},
      faults: o.faults ?? null, sockets: o.sockets ?? 'wasmedge', deterministic: !!o.deterministic, entropy: o.entropy ?? null,
      stdout: outFd, stderr: errFd, sab,
    },
  });
  const finish = (exitCode) => {
    for (const s of sockets.values()) s.sock?.destroy();
    closeSync(outFd);
    closeSync(errFd);
    const stdout = readFileSync(join(dir, 'stdout'), 'utf8');
    const stderr = readFileSync(join(dir, 'stderr'), 'utf8');
    rmSync(dir, { recursive: true, force: true });
    return { exitCode, stdout, stderr, socketFds, socketCalls };
  };
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      worker.terminate();
      reject(new Error(`WASI module ran longer than ${o.timeoutMs ?? 60_000} ms`));
    }, o.timeoutMs ?? 60_000);
    worker.on('message', (m) => {
      if (m.type === 'call') {
        serve(ctl, data, sockets, socketFds, socketCalls, o.hosts ?? {}).then(() => {
          Atomics.store(ctl, 0, 2);
          Atomics.notify(ctl, 0);
        });
      } else if (m.type === 'exit') {
        clearTimeout(timer);
        resolve(finish(m.exitCode));
      }
    });
    worker.on('error', (e) => {
      clearTimeout(timer);
      try { finish(-1); } catch { /* already closed */ }
      reject(e);
    });
  });
}

/** Does one socket call described in `ctl`/`data`, leaving its results there. */
async function serve(ctl, data, sockets, socketFds, calls, hosts) {
  const op = ctl[1];
  const name = Object.keys(OP).find((k) => OP[k] === op) ?? String(op);
  calls[name] = (calls[name] ?? 0) + 1;
  ctl[5] = E.SUCCESS;
  ctl[6] = 0;
  try {
    if (op === OP.OPEN) {
      let fd;
      do fd = 0x100000 + Math.floor(Math.random() * 0x3fe00000); while (sockets.has(fd));
      // rcvTimeoMs / sndTimeoMs: SO_RCVTIMEO / SO_SNDTIMEO, 0 = block for ever (the default)
      sockets.set(fd, { sock: null, chunks: [], ended: false, error: 0, wake: null, rcvTimeoMs: 0, sndTimeoMs: 0 });
      socketFds.push(fd);
      ctl[6] = fd;
    } else if (op === OP.CONNECT) {
      const s = sockets.get(ctl[2]);
      if (!s || s.sock) return void (ctl[5] = E.BADF);
      const family = ctl[3];
      const bytes = data.subarray(0, family === 4 ? 4 : 16);
      const host = family === 4 ? [...bytes].join('.') : ipv6(bytes);
      ctl[5] = await connect(s, host, ctl[4]);
    } else if (op === OP.SETOPT) {
      const s = sockets.get(ctl[2]);
      if (!s) return void (ctl[5] = E.BADF);
      if (ctl[3] === 11) s.rcvTimeoMs = ctl[4]; else s.sndTimeoMs = ctl[4];
    } else if (op === OP.SEND) {
      const s = sockets.get(ctl[2]);
      if (!s?.sock) return void (ctl[5] = E.BADF);
      if (s.error) return void (ctl[5] = s.error);
      const len = ctl[3];
      const copy = Buffer.from(data.subarray(0, len));
      // A blocking send: at SO_SNDTIMEO it fails with EAGAIN (this shim cannot tell a partial send).
      const flushed = await withTimeout(new Promise((r) => s.sock.write(copy, () => r(true))), s.sndTimeoMs);
      if (!flushed) return void (ctl[5] = E.AGAIN);
      ctl[6] = len;
    } else if (op === OP.RECV) {
      const s = sockets.get(ctl[2]);
      if (!s?.sock) return void (ctl[5] = E.BADF);
      if (!s.chunks.length && !s.ended && !s.error) {
        // Blocks until data, the end or an error; at SO_RCVTIMEO it fails with EAGAIN, as WasmEdge's does.
        await withTimeout(new Promise((r) => { s.wake = () => r(true); }), s.rcvTimeoMs);
        s.wake = null;
      }
      if (s.chunks.length) {
        const max = ctl[3];
        let n = 0;
        while (s.chunks.length && n < max) {
          const c = s.chunks[0];
          const k = Math.min(c.length, max - n);
          data.set(c.subarray(0, k), n);
          n += k;
          if (k === c.length) s.chunks.shift(); else s.chunks[0] = c.subarray(k);
        }
        ctl[6] = n;
      } else if (s.error) {
        ctl[5] = s.error;
      } else if (!s.ended) {
        ctl[5] = E.AGAIN;
      }
    } else if (op === OP.CLOSE) {
      const s = sockets.get(ctl[2]);
      if (!s) return void (ctl[5] = E.BADF);
      s.sock?.destroy();
      sockets.delete(ctl[2]);
    } else if (op === OP.GETADDRINFO) {
      const node = Buffer.from(data.subarray(0, ctl[2])).toString('utf8');
      const family = ctl[3] === 1 ? 4 : ctl[3] === 2 ? 6 : 0;
      let all;
      try {
        const known = Object.hasOwn(hosts, node) ? hosts[node] : null;
        all = known ? [{ address: known, family: known.includes(':') ? 6 : 4 }] : await lookup(node, { all: true, family });
      } catch (e) {
        // WasmEdge maps getaddrinfo's EAI_* codes to its own errno values.
        return void (ctl[5] = e?.code === 'ENOTFOUND' ? E.AINONAME : e?.code === 'EAI_AGAIN' ? E.AIAGAIN : E.AIFAIL);
      }
      if (!all.length) return void (ctl[5] = E.AINONAME);
      const max = Math.min(ctl[4], all.length);
      for (let i = 0; i < max; i++) {
        const a = all[i];
        data[i * 17] = a.family === 6 ? 2 : 1;
        data.set(a.family === 6 ? ipv6Bytes(a.address) : a.address.split('.').map(Number), i * 17 + 1);
      }
      ctl[6] = max;
    } else {
      ctl[5] = E.NOTSUP;
    }
  } catch {
    ctl[5] = E.IO;
  }
}

/** `promise`, or false once `ms` have passed (ms 0: no limit). */
function withTimeout(promise, ms) {
  if (!ms) return promise;
  let t;
  return Promise.race([promise, new Promise((r) => { t = setTimeout(() => r(false), ms); })]).finally(() => clearTimeout(t));
}

function connect(s, host, port) {
  return new Promise((resolve) => {
    const sock = createConnection({ host, port });
    s.sock = sock;
    if (s.sndTimeoMs) {
      // Linux bounds a blocking connect by SO_SNDTIMEO and then answers EINPROGRESS.
      const t = setTimeout(() => { if (!s.connected) { sock.destroy(); s.sock = null; resolve(E.INPROGRESS); } }, s.sndTimeoMs);
      sock.once('connect', () => clearTimeout(t));
      sock.once('close', () => clearTimeout(t));
    }
    sock.on('data', (c) => { s.chunks.push(c); s.wake?.(); });
    sock.on('end', () => { s.ended = true; s.wake?.(); });
    sock.on('close', () => { s.ended = true; s.wake?.(); });
    sock.on('error', (e) => {
      const code = errno(e);
      if (!s.connected) resolve(code);
      s.error = code;
      s.wake?.();
    });
    sock.on('connect', () => { s.connected = true; resolve(E.SUCCESS); });
  });
}

function errno(e) {
  switch (e?.code) {
    case 'ECONNREFUSED': return E.CONNREFUSED;
    case 'ECONNRESET': return E.CONNRESET;
    case 'EPIPE': return E.PIPE;
    case 'EHOSTUNREACH': case 'ENETUNREACH': return E.HOSTUNREACH;
    case 'ETIMEDOUT': return E.TIMEDOUT;
    default: return E.IO;
  }
}

function ipv6(bytes) {
  const parts = [];
  for (let i = 0; i < 16; i += 2) parts.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return parts.join(':');
}

function ipv6Bytes(address) {
  const [head, tail = ''] = address.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const words = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t].map((w) => parseInt(w, 16));
  return words.flatMap((w) => [w >> 8, w & 255]);
}

// CLI: run a module with this process's OTEL_* variables, like `wasmedge --env`.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const argv = process.argv.slice(2);
  const noSockets = argv[0] === '--no-sockets';
  if (noSockets) argv.shift();
  const [wasm, ...args] = argv;
  if (!wasm) {
    process.stderr.write('usage: node demo/wasi-job/host.mjs [--no-sockets] module.wasm [args...]\n');
    process.exit(2);
  }
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) =>
    /^(OTEL_|TRACEPARENT$|TRACESTATE$|ORDERS$|WASMTRACE_)/.test(k)));
  const r = await runWasi({ wasm, args, env, sockets: noSockets ? false : 'wasmedge', preopens: { '.': '.' } });
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  process.exitCode = r.exitCode;
}

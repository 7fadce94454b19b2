// The worker side of host.mjs: runs the WASI module under node:wasi, with
// WasmEdge's socket calls forwarded to the main thread and waited for with
// Atomics.wait (WASI calls are synchronous; node:net is not).
import { parentPort, workerData } from 'node:worker_threads';
import { readFileSync } from 'node:fs';

// node:wasi prints an ExperimentalWarning on load; the module's stderr is the caller's to read.
process.removeAllListeners('warning');
const { WASI } = await import('node:wasi');

const { OP, CTL_BYTES, DATA_BYTES } = await import('./host.mjs');
const w = workerData;
const ctl = new Int32Array(w.sab, 0, CTL_BYTES / 4);
const shared = new Uint8Array(w.sab, CTL_BYTES, DATA_BYTES);
const E = { SUCCESS: 0, FAULT: 21, INVAL: 28, NOSYS: 52, NOTSUP: 58, AIMEMORY: 82 };

const wasi = new WASI({
  version: 'preview1', args: ['job', ...w.args], env: w.env, preopens: w.preopens,
  stdout: w.stdout, stderr: w.stderr, returnOnExit: true,
});
const base = wasi.getImportObject().wasi_snapshot_preview1;
let memory;
const view = () => new DataView(memory.buffer);
const bytes = () => new Uint8Array(memory.buffer);

/**
 * One blocking call to the main thread; returns [errno, result]. Like
 * WasmEdge's calls it waits as long as the call takes (a receive with no
 * SO_RCVTIMEO waits for ever); runWasi's timeoutMs ends the worker.
 */
function call(op, a0 = 0, a1 = 0, a2 = 0) {
  ctl[1] = op; ctl[2] = a0; ctl[3] = a1; ctl[4] = a2;
  Atomics.store(ctl, 0, 1);
  parentPort.postMessage({ type: 'call' });
  while (Atomics.load(ctl, 0) === 1) Atomics.wait(ctl, 0, 1, 1000);
  Atomics.store(ctl, 0, 0);
  return [ctl[5], ctl[6]];
}

const socketFds = new Set();

const wasmedgeSockets = {
  sock_open(af, type, fdPtr) {
    if ((af !== 1 && af !== 2) || type !== 2) return E.NOTSUP; // TCP only in this shim
    const [err, fd] = call(OP.OPEN, af, type);
    if (err) return err;
    socketFds.add(fd >>> 0);
    view().setUint32(fdPtr, fd, true);
    return E.SUCCESS;
  },
  sock_connect(fd, addrPtr, port) {
    const dv = view();
    const buf = dv.getUint32(addrPtr, true);
    const len = dv.getUint32(addrPtr + 4, true);
    // WasmEdge's sock_connect takes the raw address: 4 bytes (IPv4) or 16 (IPv6), else EINVAL.
    if (len !== 4 && len !== 16) return E.INVAL;
    shared.set(bytes().subarray(buf, buf + len), 0);
    return call(OP.CONNECT, fd, len, port & 0xffff)[0];
  },
  // WasmEdge passes the bytes to the host's setsockopt as they are; for the
  // timeouts that is a 64-bit host's struct timeval { i64 tv_sec; i64 tv_usec }.
  // This shim keeps SO_RCVTIMEO (11) and SO_SNDTIMEO (12) of SOL_SOCKET (0) only.
  sock_setsockopt(fd, level, name, flagPtr, flagLen) {
    if (level !== 0 || (name !== 11 && name !== 12)) return E.NOTSUP;
    if (flagLen !== 16) return E.INVAL; // Linux's EINVAL for a short timeval
    const dv = view();
    const ms = Number(dv.getBigInt64(flagPtr, true)) * 1000 + Math.floor(Number(dv.getBigInt64(flagPtr + 8, true)) / 1000);
    if (ms < 0) return E.INVAL;
    return call(OP.SETOPT, fd, name, Math.min(ms, 0x7fffffff))[0];
  },
  sock_send(fd, iovs, iovsLen, _flags, sentPtr) {
    const dv = view();
    let n = 0;
    for (let i = 0; i < iovsLen; i++) {
      const p = dv.getUint32(iovs + i * 8, true);
      const len = Math.min(dv.getUint32(iovs + i * 8 + 4, true), DATA_BYTES - n);
      shared.set(bytes().subarray(p, p + len), n);
      n += len;
    }
    const [err, sent] = call(OP.SEND, fd, n);
    if (err) return err;
    view().setUint32(sentPtr, sent, true);
    return E.SUCCESS;
  },
  sock_recv(fd, iovs, iovsLen, _flags, lenPtr, flagsPtr) {
    const dv = view();
    let cap = 0;
    for (let i = 0; i < iovsLen; i++) cap += dv.getUint32(iovs + i * 8 + 4, true);
    const [err, got] = call(OP.RECV, fd, Math.min(cap, DATA_BYTES));
    if (err) return err;
    let done = 0;
    for (let i = 0; i < iovsLen && done < got; i++) {
      const p = dv.getUint32(iovs + i * 8, true);
      const k = Math.min(dv.getUint32(iovs + i * 8 + 4, true), got - done);
      bytes().set(shared.subarray(done, done + k), p);
      done += k;
    }
    view().setUint32(lenPtr, got, true);
    view().setUint16(flagsPtr, 0, true);
    return E.SUCCESS;
  },
  sock_getaddrinfo(nodePtr, nodeLen, svcPtr, svcLen, hintsPtr, resPtr, maxRes, resLenPtr) {
    if (maxRes < 1) return E.AIMEMORY; // as WasmEdge
    const service = Buffer.from(bytes().subarray(svcPtr, svcPtr + svcLen)).toString('utf8').replace(/\0+$/, '');
    const port = /^\d+$/.test(service) ? Number(service) & 0xffff : 0;
    let node = Buffer.from(bytes().subarray(nodePtr, nodePtr + nodeLen)).toString('utf8');
    node = node.replace(/\0+$/, '');
    const family = hintsPtr ? bytes()[hintsPtr + 2] : 0;
    const n = Math.min(Buffer.byteLength(node), 255);
    shared.set(Buffer.from(node).subarray(0, n), 0);
    const [err, count] = call(OP.GETADDRINFO, n, family, maxRes);
    if (err) return err;
    // Fill the caller's chain: *res → addrinfo → ai_addr (sockaddr) → sa_data.
    const dv = view();
    let ai = dv.getUint32(resPtr, true);
    let filled = 0;
    for (let i = 0; i < count && ai; i++) {
      const fam = shared[i * 17];
      dv.setUint8(ai + 2, fam);
      dv.setUint8(ai + 3, 2);
      dv.setUint8(ai + 4, 1);
      const sa = dv.getUint32(ai + 12, true);
      if (!sa) return E.FAULT;
      dv.setUint8(sa, fam);
      const saData = dv.getUint32(sa + 8, true);
      const addr = shared.subarray(i * 17 + 1, i * 17 + (fam === 1 ? 5 : 17));
      // WasmEdge copies a C sockaddr from sin_port on: 14 bytes (IPv4) or 26 (IPv6), and
      // sets sa_data_len to that (it does not check the caller's sa_data_len first).
      const saLen = fam === 1 ? 14 : 26;
      bytes().fill(0, saData, saData + saLen);
      dv.setUint16(saData, port); // network order
      bytes().set(addr, saData + (fam === 1 ? 2 : 6)); // after the port (and IPv6 flowinfo)
      dv.setUint32(sa + 4, saLen, true);
      dv.setUint32(ai + 8, fam === 1 ? 16 : 28, true); // ai_addrlen, as a C sockaddr's
      filled++;
      ai = dv.getUint32(ai + 24, true);
    }
    dv.setUint32(resLenPtr, filled, true);
    return E.SUCCESS;
  },
};

const nosys = Object.fromEntries(Object.keys(wasmedgeSockets).map((k) => [k, () => E.NOSYS]));

const imports = { ...base };
if (w.sockets === 'wasmedge') Object.assign(imports, wasmedgeSockets);
if (w.sockets === 'nosys') Object.assign(imports, nosys);
imports.fd_close = (fd) => {
  if (socketFds.delete(fd >>> 0)) return call(OP.CLOSE, fd)[0];
  return base.fd_close(fd);
};
if (w.deterministic) {
  // Counter clocks and counter entropy, so two runs of one job give the same spans.
  let tick = 0n;
  imports.clock_time_get = (_id, _precision, ptr) => {
    tick += 1n;
    view().setBigUint64(ptr, 1_700_000_000_000_000_000n + tick * 1_000_000n, true);
    return E.SUCCESS;
  };
  let counter = 1;
  imports.random_get = (ptr, len) => {
    const b = bytes();
    for (let i = 0; i < len; i++) b[ptr + i] = (counter++ * 151) & 255;
    return E.SUCCESS;
  };
}

if (w.entropy) {
  let next = 0;
  imports.random_get = (ptr, len) => {
    const b = bytes();
    for (let i = 0; i < len; i++) b[ptr + i] = w.entropy[next++ % w.entropy.length];
    return E.SUCCESS;
  };
}

if (w.faults) {
  // Tests: an import that fails from its `from`-th call on.
  for (const [name, { from, errno }] of Object.entries(w.faults)) {
    const real = imports[name];
    let calls = 0;
    imports[name] = (...args) => (++calls >= from ? errno : real(...args));
  }
}

const module = new WebAssembly.Module(readFileSync(w.wasm));
const instance = new WebAssembly.Instance(module, { wasi_snapshot_preview1: imports });
memory = instance.exports.memory;
let exitCode;
try {
  exitCode = wasi.start(instance);
} catch (e) {
  exitCode = 134;
  const msg = Buffer.from(`host: the module trapped: ${e?.message ?? e}\n`);
  (await import('node:fs')).writeSync(w.stderr, msg);
}
parentPort.postMessage({ type: 'exit', exitCode });

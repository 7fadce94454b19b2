// Exporters drain the core's queue of ended spans. Which one a program uses
// is chosen when it is linked: only `otlpHttp` reaches the WasmEdge socket
// imports, so a program built with `otlpLines` runs on any WASI runtime.
import { OUT_SIZE } from "../core/layout";
import { encodeProto, protoKV } from "../core/proto";
import { encodeJson, jsonKV } from "../core/json";
import { setKVEncoder } from "../core/kv";
import { lastCount, start as outStart } from "../core/out";
import { endedSpans, freeEncoded } from "../core/pool";
import { Url } from "./config";
import { post, lastError, lastStatus, NO_STATUS, SENT, UNSUPPORTED } from "./http";
import { rejected, rejectedMessage } from "./reply";
import { openOutput, writeLine } from "./lines";
import { MAX_NAME, probe, TIMED_OUT } from "./sock";
import { nowMs } from "./clock";
import { STDERR, writeAll } from "./sys";
import { utf8 } from "./text";

/**
 * Where ended spans go. Called with `setup` true once in `init`, before any
 * attribute is stored (the core encodes attributes in the wire format as they
 * are set), then with false to send every ended span. Exporters are plain
 * functions so that a program linked with `otlpLines` never compiles the
 * socket code (and never imports the socket calls).
 */
export type Exporter = (setup: bool) => void;

/** OTLP/JSON lines to stdout, or to the file named by the `output` option. */
export function otlpLines(setup: bool): void {
  if (setup) setKVEncoder(jsonKV);
  else drainLines();
}

/**
 * OTLP/HTTP (protobuf, or JSON when OTEL_EXPORTER_OTLP_PROTOCOL says so) over
 * WasmEdge sockets. A runtime without sockets gets JSON lines instead.
 */
export function otlpHttp(setup: bool): void {
  if (setup) setupHttp();
  else drainHttp();
}

/** What the exporters need, set by `init`. */
export class ExportSettings {
  url: Url = new Url();
  endpoint: string = "";
  headerLines: string = "";
  json: bool = false;
  output: string = "";
  attempts: i32 = 5;
  backoffMs: i32 = 100;
  timeoutMs: i32 = 10_000;
}

export let settings = new ExportSettings();
/** Spans handed to an exporter and not delivered. */
export let lostSpans: i32 = 0;
let lostReason = "";
/** Spans the collector took and refused (partial success: never retried), and its last message. */
export let refusedSpans: i32 = 0;
let refusedMessage = "";
let outputOpen = false;
let noSockets = false;
let failing = false;
/**
 * After a batch gave up at the timeout (a collector that accepts and never
 * answers), later ones are lost without connecting until `coolUntil` (ms on
 * the monotonic clock): a pause of 1 s, doubled while the collector stays
 * silent, to 30 s.
 */
let coolUntil: f64 = 0;
let coolMs: f64 = 0;

function drainLines(): void {
  if (!outputOpen) {
    outputOpen = true;
    if (!openOutput(settings.output)) warn("cannot open " + settings.output + " under a preopened directory; writing to stdout");
  }
  for (let i = 0; i < 4096 && endedSpans() > 0; i++) {
    const n = encodeJson(OUT_SIZE);
    if (n <= 0) break;
    freeEncoded(); // the bytes are in the output buffer until the next encode
    if (!writeLine(outStart, n)) lose(lastCount, "the output refused the write");
  }
}

/** Probes for sockets once, before any span, and picks the wire format. */
function setupHttp(): void {
  const why = !probe()
    ? "this runtime has no sockets"
    : settings.url.userinfo
    ? "an endpoint with user info (user:password@) is refused, as fetch refuses it: " + settings.endpoint
    : !settings.url.ok && settings.url.http
    ? "not a valid http:// endpoint (it needs a host, and a port from 1 to 65535): " + settings.endpoint
    : !settings.url.ok
    ? "only http:// endpoints are supported, not " + settings.endpoint
    : String.UTF8.byteLength(settings.url.host) > MAX_NAME
    ? "the host name of " + settings.endpoint + " is longer than " + MAX_NAME.toString() + " bytes"
    : "";
  noSockets = why.length > 0;
  if (noSockets) warn(why + "; writing OTLP/JSON lines instead");
  setKVEncoder(noSockets || settings.json ? jsonKV : protoKV);
}

function drainHttp(): void {
  if (noSockets) {
    drainLines();
    return;
  }
  const type = settings.json ? "application/json" : "application/x-protobuf";
  for (let i = 0; i < 4096 && endedSpans() > 0; i++) {
    const n = settings.json ? encodeJson(OUT_SIZE) : encodeProto(OUT_SIZE);
    if (n <= 0) break;
    freeEncoded();
    const count = lastCount;
    if (nowMs() < coolUntil) {
      lose(count, lostReason);
      continue;
    }
    // Once a batch has given up, later ones try once until one gets through.
    const attempts = failing ? 1 : settings.attempts;
    const r = post(settings.url, type, settings.headerLines, outStart, n, attempts, settings.backoffMs, settings.timeoutMs);
    if (r == SENT) {
      failing = false;
      coolMs = 0;
      const refused = <i32>min(rejected, <i64>count);
      if (refused > 0) {
        refusedSpans += refused;
        refusedMessage = rejectedMessage;
      }
    } else if (r == UNSUPPORTED) {
      lose(count, "the runtime refused to open a socket");
    } else {
      failing = true;
      const silent = !lastStatus && lastError == TIMED_OUT && settings.timeoutMs > 0;
      if (silent) {
        coolMs = coolMs > 0 ? min(coolMs * 2, 30_000) : 1000;
        coolUntil = nowMs() + coolMs;
      }
      lose(count, lastStatus
        ? "the collector at " + settings.endpoint + " answered HTTP " + lastStatus.toString()
        : silent
        ? "the collector at " + settings.endpoint + " did not answer within " + settings.timeoutMs.toString() + " ms"
        : lastError == NO_STATUS
        ? "the collector at " + settings.endpoint + " sent no valid HTTP status line"
        : "the collector at " + settings.endpoint + " is unreachable (errno " + lastError.toString() + ")");
    }
  }
}

function lose(n: i32, reason: string): void {
  lostSpans += n;
  lostReason = reason;
}

/** The loss report for stderr, or "" when nothing was lost. */
export function lossReport(dropped: i32): string {
  if (!lostSpans && !refusedSpans && !dropped) return "";
  let s = "wasmtrace: " + (lostSpans + refusedSpans + dropped).toString() + " spans lost";
  if (lostSpans) s += "; " + lostSpans.toString() + " not exported: " + lostReason;
  if (refusedSpans) {
    s += "; " + refusedSpans.toString() + " rejected by the collector at " + settings.endpoint + " (partial success" +
      (refusedMessage.length ? ": " + refusedMessage : "") + ")";
  }
  if (dropped) s += "; " + dropped.toString() + " dropped for lack of buffer space, or freed by a bound of tail sampling before their trace was kept";
  return s;
}

const MSG_SIZE: i32 = 1024;
const MSG: usize = memory.data(MSG_SIZE);

/** One line on stderr, prefixed "wasmtrace: " unless it is already. */
export function warn(message: string): void {
  const text = message.startsWith("wasmtrace: ") ? message : "wasmtrace: " + message;
  const n = utf8(text, MSG, MSG_SIZE - 1);
  store<u8>(MSG + <usize>n, 0x0a);
  writeAll(STDERR, MSG, n + 1);
}

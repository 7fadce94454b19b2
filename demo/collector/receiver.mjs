// POST /v1/traces: the OTLP/HTTP receiver. Every failure is an answer (400, 413,
// 415, 503), never an exception that escapes: a bad export must not stop the collector.
import { brotliDecompress, gunzip, inflate, inflateRaw } from 'node:zlib';
import {
  BadRequest,
  checkRequestSize,
  decodeJsonRequest,
  decodeProtobufRequest,
  encodeExportResponse,
  encodeStatus,
  flattenRequest,
} from './otlp.mjs';

const GRPC_INVALID_ARGUMENT = 3;
const GRPC_RESOURCE_EXHAUSTED = 8;
const GRPC_UNAVAILABLE = 14;
/**
 * Bodies decompressed and decoded at once; the others wait their turn. Decoding itself
 * is synchronous, so this bounds the decompressed buffers held (each up to maxDecodedBytes).
 */
const DECODE_SLOTS = 2;

/** The media type of a Content-Type header, without parameters, in lowercase. */
function mediaType(header) {
  return (header ?? '').split(';')[0].trim().toLowerCase();
}

/** @param {string | undefined} header @returns {'protobuf' | 'json' | null} */
export function encodingOf(header) {
  const type = mediaType(header);
  if (type === 'application/x-protobuf' || type === 'application/protobuf') return 'protobuf';
  if (type === 'application/json') return 'json';
  return null;
}

const DECODERS = {
  gzip: gunzip,
  'x-gzip': gunzip,
  deflate: inflateDeflate,
  br: brotliDecompress,
};

/** HTTP "deflate" means zlib-wrapped, but some senders send raw deflate: try both. */
function inflateDeflate(buf, opts, cb) {
  inflate(buf, opts, (err, out) => {
    if (!err || (err instanceof RangeError)) return cb(err, out);
    inflateRaw(buf, opts, cb);
  });
}

/**
 * @param {object} deps
 * @param {ReturnType<import('./store.mjs').createTraceStore>} deps.store
 * @param {number} deps.maxBodyBytes limit of the body as sent (compressed or not)
 * @param {number} deps.maxDecodedBytes limit of the body after decompression
 * @param {number} deps.maxConcurrentExports exports received at once; more get 503
 * @param {number} deps.bodyTimeoutMs a body not complete this long after its headers: 408
 * @param {number} deps.maxSpansPerRequest more spans in one request: 413
 * @param {number} deps.maxItemsPerRequest more objects (spans, attributes, values, …) in one request: 413
 * @param {{ write(line: string | null): void } | null} deps.jsonl null: a line that could not be made (counted as dropped)
 * @param {ReturnType<typeof newReceiverStats>} deps.stats
 */
export function createReceiver({
  store, maxBodyBytes, maxDecodedBytes, maxConcurrentExports, bodyTimeoutMs, maxSpansPerRequest, maxItemsPerRequest, jsonl, stats,
}) {
  let inflight = 0;
  const decodeSlot = semaphore(DECODE_SLOTS);
  const limits = { maxSpans: maxSpansPerRequest, maxItems: maxItemsPerRequest };

  /** @param {import('node:http').IncomingMessage} req @param {import('node:http').ServerResponse} res */
  return function receive(req, res) {
    stats.requests++;
    const encoding = encodingOf(req.headers['content-type']);
    // Errors for a request we cannot classify are answered in JSON, readable with curl.
    const answerEnc = encoding ?? 'json';
    // OTLP/HTTP: the answer has the request's Content-Type (application/protobuf stays so).
    const answerType = encoding === null ? 'application/json' : mediaType(req.headers['content-type']);
    const fail = (status, grpcCode, message) => {
      stats.errors[status] = (stats.errors[status] ?? 0) + 1;
      send(res, status, answerType, encodeStatus(answerEnc, grpcCode, message));
    };
    if (encoding === null) {
      drain(req, maxBodyBytes);
      return fail(415, GRPC_INVALID_ARGUMENT,
        `unsupported Content-Type ${JSON.stringify(req.headers['content-type'] ?? '')}: use application/x-protobuf or application/json`);
    }
    const coding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (coding !== 'identity' && !(coding in DECODERS)) {
      drain(req, maxBodyBytes);
      return fail(415, GRPC_INVALID_ARGUMENT, `unsupported Content-Encoding ${JSON.stringify(coding)}: use gzip, deflate, br or none`);
    }
    const declared = Number(req.headers['content-length']);
    if (declared > maxBodyBytes) {
      drain(req, maxBodyBytes);
      return fail(413, GRPC_RESOURCE_EXHAUSTED, `body of ${declared} bytes exceeds the limit of ${maxBodyBytes} bytes`);
    }
    if (inflight >= maxConcurrentExports) {
      res.setHeader('Retry-After', '1');
      drain(req, maxBodyBytes);
      return fail(503, GRPC_UNAVAILABLE, 'too many exports at once; retry later');
    }
    inflight++;
    readBody(req, maxBodyBytes, bodyTimeoutMs)
      .then(async (body) => {
        if (body === 'aborted') return;
        if (body === 'timeout') {
          // A slow sender must not hold an export slot: answer, then close the connection.
          res.setHeader('Connection', 'close');
          res.once('finish', () => req.destroy());
          return fail(408, GRPC_UNAVAILABLE, `body not received within ${bodyTimeoutMs} ms`);
        }
        if (body === 'too-large') {
          drain(req, maxBodyBytes);
          return fail(413, GRPC_RESOURCE_EXHAUSTED, `body exceeds the limit of ${maxBodyBytes} bytes`);
        }
        const release = await decodeSlot();
        let request;
        let flat;
        try {
          let bytes = body;
          if (coding !== 'identity') {
            const decoded = await decompress(DECODERS[coding], body, maxDecodedBytes);
            if (decoded === 'too-large') {
              return fail(413, GRPC_RESOURCE_EXHAUSTED, `decompressed body exceeds the limit of ${maxDecodedBytes} bytes`);
            }
            if (decoded instanceof Error) {
              return fail(400, GRPC_INVALID_ARGUMENT, `malformed ${coding} body: ${decoded.message}`);
            }
            bytes = decoded;
          }
          checkRequestSize(encoding, bytes, limits);
          request = encoding === 'protobuf' ? decodeProtobufRequest(bytes) : decodeJsonRequest(bytes.toString('utf8'));
          flat = flattenRequest(request, maxSpansPerRequest);
        } finally {
          release();
        }
        const { spans, rejected, reasons } = flat;
        const { refused, refusedForSize } = store.add(spans);
        if (refused > refusedForSize) reasons.push('trace has too many spans for this collector (maxSpansPerTrace)');
        if (refusedForSize > 0) reasons.push('trace is too large for this collector (maxBytes)');
        const rejectedSpans = rejected + refused;
        stats.exports++;
        stats.acceptedSpans += spans.length - refused;
        stats.rejectedSpans += rejectedSpans;
        if (jsonl) jsonl.write(jsonLine(request));
        send(res, 200, answerType, encodeExportResponse(encoding, rejectedSpans, reasons.join('; ')));
      })
      .catch((err) => {
        if (err instanceof BadRequest) return fail(err.status, err.status === 413 ? GRPC_RESOURCE_EXHAUSTED : GRPC_INVALID_ARGUMENT, err.message);
        // Anything else is a bug here, still answered: deep nesting can overflow the stack.
        const message = err instanceof RangeError ? `request too deeply nested: ${err.message}` : 'internal error';
        return fail(err instanceof RangeError ? 400 : 500, GRPC_INVALID_ARGUMENT, message);
      })
      .finally(() => {
        inflight--;
      });
  };
}

/**
 * The request as one JSON line, or null when it cannot be written back: JSON.parse
 * reads nesting (an unknown field, a value) far deeper than JSON.stringify's stack
 * allows. Never throws: the spans are in the store by now, and the answer must say so.
 */
function jsonLine(request) {
  try {
    return JSON.stringify(request);
  } catch {
    return null;
  }
}

export function newReceiverStats() {
  return { requests: 0, exports: 0, acceptedSpans: 0, rejectedSpans: 0, errors: /** @type {Record<number, number>} */ ({}) };
}

function send(res, status, contentType, body) {
  if (res.headersSent || res.destroyed) return;
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', body.length);
  res.end(body);
}

/**
 * @param {import('node:http').IncomingMessage} req
 * @returns {Promise<Buffer | 'too-large' | 'aborted' | 'timeout'>}
 */
function readBody(req, limit, timeoutMs) {
  return new Promise((resolve) => {
    const chunks = [];
    let size = 0;
    const stop = (result) => {
      clearTimeout(timer);
      req.off('data', onData);
      chunks.length = 0;
      resolve(result);
    };
    const timer = setTimeout(() => stop('timeout'), timeoutMs);
    const onData = (chunk) => {
      size += chunk.length;
      if (size > limit) return stop('too-large');
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks, size));
    });
    req.on('error', () => stop('aborted'));
    req.on('close', () => stop('aborted')); // no-op after 'end'
  });
}

/**
 * Reads and discards what is left of a refused body so that the client sees the
 * answer rather than a reset connection; bounded in bytes and time, then cut off.
 */
function drain(req, limit) {
  if (req.complete) return;
  let seen = 0;
  const timer = setTimeout(() => req.destroy(), 5000);
  timer.unref();
  req.on('data', (c) => {
    seen += c.length;
    if (seen > 4 * limit) req.destroy();
  });
  req.on('end', () => clearTimeout(timer));
  req.on('close', () => clearTimeout(timer));
  req.resume();
}

/** `acquire()` resolves with a release function once one of `n` slots is free (first come, first served). */
function semaphore(n) {
  let free = n;
  const waiting = [];
  const release = () => {
    const next = waiting.shift();
    if (next) next(release);
    else free++;
  };
  return () => new Promise((resolve) => {
    if (free > 0) {
      free--;
      resolve(release);
    } else waiting.push(resolve);
  });
}

/** @returns {Promise<Buffer | Error | 'too-large'>} */
function decompress(fn, buf, maxOutputLength) {
  return new Promise((resolve) => {
    fn(buf, { maxOutputLength }, (err, out) => {
      if (err instanceof RangeError || (err && /** @type {any} */ (err).code === 'ERR_BUFFER_TOO_LARGE')) resolve('too-large');
      else if (err) resolve(err);
      else resolve(out);
    });
  });
}

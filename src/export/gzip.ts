// gzip through CompressionStream where the runtime has it. Never call this in
// a pagehide handler: it does not finish there (docs/platform.md).

const ignore = (): void => {};

/** `bytes` through the stream `make` returns; null when the runtime has no such stream, or it fails. */
async function through(bytes: Uint8Array, make: () => TransformStream<BufferSource, Uint8Array>): Promise<Uint8Array | null> {
  try {
    // The bytes go straight into the stream's writer: reading them through
    // `new Blob([bytes]).stream()` cost Chromium about 0.8 ms more per call
    // (docs/performance.md, "gzip in the browser").
    const stream = make();
    const writer = stream.writable.getWriter();
    // A failure shows on the readable side; these two must not go unhandled.
    writer.write(bytes as BufferSource).catch(ignore);
    writer.close().catch(ignore);
    return new Uint8Array(await new Response(stream.readable).arrayBuffer());
  } catch {
    // No such stream (ReferenceError) or a failed one (not gzip).
    return null;
  }
}

/** The gzip of `bytes`, or null when the runtime cannot compress. */
export const gzip = (bytes: Uint8Array): Promise<Uint8Array | null> => through(bytes, () => new CompressionStream('gzip'));

/** What gzipped `bytes` hold, or null. */
export const gunzip = (bytes: Uint8Array): Promise<Uint8Array | null> => through(bytes, () => new DecompressionStream('gzip'));

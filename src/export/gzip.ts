// gzip through CompressionStream where the runtime has it. Never call this in
// a pagehide handler: it does not finish there (PLATFORM-FACTS.md).

/** The gzip of `bytes`, or null when the runtime cannot compress. */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array | null> {
  try {
    const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream('gzip'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch {
    // No CompressionStream (ReferenceError) or a failed stream.
    return null;
  }
}

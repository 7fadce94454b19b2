// gzip through CompressionStream where the runtime has it. Never call this in
// a pagehide handler: it does not finish there (PLATFORM-FACTS.md).

/** True when CompressionStream('gzip') exists. */
export function canGzip(): boolean {
  return typeof (globalThis as { CompressionStream?: unknown }).CompressionStream === 'function';
}

/** The gzip of `bytes`, or null when the runtime cannot compress. */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array | null> {
  if (!canGzip()) return null;
  try {
    const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream('gzip'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch {
    return null;
  }
}

// Types of otlp.mjs (the parts the tests use).
export class BadRequest extends Error {
  constructor(message: string, status?: number);
  status: number;
}
/** The generated protobufjs message type. */
export const ExportTraceServiceRequest: { decode(bytes: Uint8Array): any };
export function checkRequestSize(encoding: 'protobuf' | 'json', bytes: Uint8Array, limits: { maxSpans: number; maxItems: number }): void;

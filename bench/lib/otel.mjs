// The rival in Node: the OpenTelemetry JS SDK set up the way its docs show for
// batching — BasicTracerProvider + BatchSpanProcessor — with an exporter that
// serializes each batch with otlp-transformer's serializer (protobuf or JSON)
// and hands the bytes on, so encoding is in the measured work.
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Resource } from '@opentelemetry/resources';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { packageVersions } from './machine.mjs';

const v = packageVersions(['@opentelemetry/sdk-trace-base', '@opentelemetry/otlp-transformer']);
export const OTEL_NAME = `OTel JS sdk-trace-base ${v['@opentelemetry/sdk-trace-base']} + BatchSpanProcessor + otlp-transformer ${v['@opentelemetry/otlp-transformer']}`;

/** `{ tracer, provider }`; `sink(bytes)` receives every serialized batch. */
export function otelTracer({ sink, json = false, maxExportBatchSize = 512, maxQueueSize = 2048, serviceName = 'bench' }) {
  const serializer = json ? JsonTraceSerializer : ProtobufTraceSerializer;
  const exporter = {
    export(spans, done) {
      const bytes = serializer.serializeRequest(spans);
      sink(bytes);
      done({ code: 0 });
    },
    shutdown: async () => {},
    forceFlush: async () => {},
  };
  const provider = new BasicTracerProvider({ resource: new Resource({ 'service.name': serviceName }) });
  provider.addSpanProcessor(new BatchSpanProcessor(exporter, { maxExportBatchSize, maxQueueSize, scheduledDelayMillis: 3_600_000 }));
  return { tracer: provider.getTracer('bench'), provider };
}

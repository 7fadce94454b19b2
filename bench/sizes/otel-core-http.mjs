// OpenTelemetry JS web setup with the OTLP/HTTP JSON exporter instead of protobuf.
import { WebTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-web';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';

export function init(url) {
  const provider = new WebTracerProvider();
  provider.addSpanProcessor(new BatchSpanProcessor(new OTLPTraceExporter({ url })));
  provider.register();
  return provider.getTracer('app');
}

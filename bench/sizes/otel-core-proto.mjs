// OpenTelemetry JS, the smallest useful web setup: WebTracerProvider +
// BatchSpanProcessor + OTLP/HTTP protobuf exporter.
import { WebTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-web';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';

export function init(url) {
  const provider = new WebTracerProvider();
  provider.addSpanProcessor(new BatchSpanProcessor(new OTLPTraceExporter({ url })));
  provider.register();
  return provider.getTracer('app');
}

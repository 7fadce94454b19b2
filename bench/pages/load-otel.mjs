// Page-load cost, OpenTelemetry JS: its lightest web setup (WebTracerProvider +
// BatchSpanProcessor + OTLP/HTTP exporter), the same one span, flushed.
import { WebTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-web';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';

const provider = new WebTracerProvider();
provider.addSpanProcessor(new BatchSpanProcessor(new OTLPTraceExporter({ url: `${location.origin}/v1/traces` })));
provider.register();
window.addEventListener('load', async () => {
  const tracer = provider.getTracer('page');
  const span = tracer.startSpan('page.work', { attributes: { 'page.items': document.querySelectorAll('li').length } });
  span.end();
  await provider.forceFlush();
  window.benchDone = true;
});

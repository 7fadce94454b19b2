// Grafana Faro: the web SDK with its default instrumentations and tracing.
import { initializeFaro, getWebInstrumentations } from '@grafana/faro-web-sdk';
import { TracingInstrumentation } from '@grafana/faro-web-tracing';

export function init(url) {
  return initializeFaro({
    url,
    app: { name: 'app' },
    instrumentations: [...getWebInstrumentations(), new TracingInstrumentation()],
  });
}

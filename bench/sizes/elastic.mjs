// Elastic APM RUM agent.
import { init as initApm } from '@elastic/apm-rum';

export function init(serverUrl) {
  return initApm({ serviceName: 'app', serverUrl });
}

// Runs the collector and viewer on their own:
//   node demo/collector/cli.mjs [--port 4318] [--host 127.0.0.1] [--jsonl traces.jsonl]
// Prints one JSON line with the URLs once listening (scripts read it).
import { parseArgs } from 'node:util';
import { startCollector } from './server.mjs';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '4318' },
    host: { type: 'string', default: '127.0.0.1' },
    jsonl: { type: 'string' },
    'max-spans': { type: 'string' },
  },
});
const collector = await startCollector({
  port: Number(values.port),
  host: values.host,
  jsonlPath: values.jsonl,
  maxSpans: values['max-spans'] ? Number(values['max-spans']) : undefined,
});
process.stdout.write(
  JSON.stringify({ url: collector.url, tracesUrl: collector.tracesUrl, viewerUrl: collector.viewerUrl, apiUrl: collector.apiUrl }) + '\n',
);
const stop = () => collector.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

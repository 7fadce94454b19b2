// Writes a result as bench/results/<kind>-latest.json (or latest.json) and a
// dated copy beside it, for history.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { results } from './paths.mjs';

/** Writes `data` (with `data.machine.date`); returns the two paths written. */
export function writeResult(kind, data) {
  mkdirSync(results, { recursive: true });
  const stamp = (data.machine?.date ?? new Date().toISOString()).replace(/[:.]/g, '-');
  const prefix = kind ? `${kind}-` : '';
  const latest = new URL(`${prefix}latest.json`, results);
  const dated = new URL(`${prefix}${stamp}.json`, results);
  const text = `${JSON.stringify(data, null, 2)}\n`;
  writeFileSync(latest, text);
  writeFileSync(dated, text);
  return [fileURLToPath(latest), fileURLToPath(dated)];
}

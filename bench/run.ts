/**
 * `npm run bench`: runs every bench/*.bench.ts (or those named on the command line) one after the
 * other and prints their figures. Each module exports `run(): Promise<BenchResult[]>`.
 */
import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  /** The target from the issue, for the report, e.g. '>= 50000'. */
  target?: string;
  pass?: boolean;
}

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = (await readdir(here)).filter((f) => f.endsWith('.bench.ts')).sort();
let failed = 0;
for (const file of files) {
  const name = basename(file, '.bench.ts');
  if (only.length > 0 && !only.includes(name)) continue;
  console.log(`\n== ${name}`);
  const mod = (await import(pathToFileURL(join(here, file)).href)) as { run(): Promise<BenchResult[]> };
  for (const r of await mod.run()) {
    const verdict = r.pass === undefined ? '' : r.pass ? '  ok' : '  MISSED';
    if (r.pass === false) failed++;
    const target = r.target ? ` (target ${r.target})` : '';
    console.log(`  ${r.name.padEnd(48)} ${formatValue(r.value).padStart(14)} ${r.unit}${target}${verdict}`);
  }
}
console.log(failed === 0 ? '\nall targets met' : `\n${failed} target(s) missed`);

function formatValue(v: number): string {
  return Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(v < 10 ? 3 : 1);
}

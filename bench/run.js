// `npm run bench`: every benchmark, each a ratio measured side by side in one run on this
// (shared, noisy) machine, printed as a table and as JSON (bench/results.json).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchTransport } from './transport.js';
import { benchVeth } from './veth.js';
import { benchVethFloor } from './vethfloor.js';
import { benchAttach } from './attach.js';
import { benchCorrelate } from './correlate.js';
import { benchReplay } from './replay.js';
import { root } from './util.js';

if (process.geteuid?.() !== 0) {
  console.error('bench: run as root (benchmarks load BPF programs and create namespaces).');
  process.exit(77);
}
const only = process.argv.slice(2);
const all = { transport: benchTransport, veth: benchVeth, vethfloor: benchVethFloor, attach: benchAttach, correlate: benchCorrelate, replay: benchReplay };
const results = [];
for (const [name, fn] of Object.entries(all)) {
  if (only.length && !only.includes(name)) continue;
  process.stderr.write(`bench: ${name} ...\n`);
  const r = await fn();
  results.push(r);
  console.log(JSON.stringify(r));
}
writeFileSync(join(root, 'bench', 'results.json'), JSON.stringify({ when: new Date().toISOString(), results }, null, 2) + '\n');

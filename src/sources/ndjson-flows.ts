// Flows from a file of flow records, as `mesh-trace --json` writes them (docs/flows.md):
// one JSON object per line. Lines that are other record types are skipped and counted, so
// a file that mixes records stays usable; a line that is not JSON is an error that names it.
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { FlowRecord } from '../correlate/model.js';
import { MeshTraceError } from '../errors.js';
import type { FlowSource } from './flow-source.js';

export async function ndjsonFlows(file: string, accept?: (f: FlowRecord) => boolean): Promise<FlowSource> {
  if (file !== '-') {
    try {
      await access(file);
    } catch {
      throw new MeshTraceError('NOT_FOUND', `The file ${file} cannot be read.`, { hint: 'Record flows with `mesh-trace --port P --json > flows.ndjson`.' });
    }
  }
  let read = 0;
  let kept = 0;
  let skipped = 0;
  let stopped = false;
  async function* flows(): AsyncGenerator<FlowRecord> {
    const input = file === '-' ? process.stdin : createReadStream(file, { encoding: 'utf8' });
    const lines = createInterface({ input, crlfDelay: Infinity });
    let n = 0;
    try {
      for await (const line of lines) {
        n++;
        if (stopped) break;
        if (!line.trim()) continue;
        let rec: unknown;
        try {
          rec = JSON.parse(line);
        } catch {
          throw new MeshTraceError('BAD_INPUT', `Line ${n} of ${file} is not JSON.`, { hint: 'The file must hold flow records, one per line, as `mesh-trace --json` writes them (docs/flows.md).' });
        }
        const f = rec as FlowRecord;
        if (!f || typeof f !== 'object' || f.type !== 'flow') {
          skipped++;
          continue;
        }
        read++;
        if (accept && !accept(f)) continue;
        kept++;
        yield f;
      }
    } finally {
      lines.close();
    }
  }
  return {
    [Symbol.asyncIterator]: flows,
    stop: () => void (stopped = true),
    summary: () =>
      `${kept} flow${kept === 1 ? '' : 's'} from ${file}${read !== kept ? ` (${read - kept} more filtered out)` : ''}${skipped ? `; ${skipped} line${skipped === 1 ? '' : 's'} that are not flow records skipped` : ''}`,
  };
}

// Output files a run created and wrote nothing to are not left behind, however the run ends:
// a process that exits at once (a second Ctrl-C calls process.exit) removes them; one that
// wrote something keeps it; a file that was there before is never removed. Real files, in a
// real child process that really exits.
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'mesh-trace-output-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const dist = join(__dirname, '..', '..', 'dist');

/** runs `body` in a fresh node (OutputFile and PcapngWriter in scope), then exits 130 */
function exitAfter(body: string): number | null {
  const code = `
    const { OutputFile } = await import(${JSON.stringify(join(dist, 'capture', 'output-file.js'))});
    const { PcapngWriter } = await import(${JSON.stringify(join(dist, 'pcap', 'pcapng-writer.js'))});
    ${body}
    process.exit(130);`;
  return spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' }).status;
}

describe('an exit before anything is written', () => {
  it('removes the report and the pcapng it created, and keeps what holds something', () => {
    const html = join(dir, 'report.html');
    const flows = join(dir, 'flows.ndjson');
    const pcapng = join(dir, 'empty.pcapng');
    const full = join(dir, 'full.pcapng');
    const status = exitAfter(`
      new OutputFile(${JSON.stringify(html)}, 'the HTML report', '--html');
      new OutputFile(${JSON.stringify(flows)}, 'the flow records', '--flows').write('{"type":"flow"}\\n');
      new PcapngWriter(${JSON.stringify(pcapng)}, 'test');
      const w = new PcapngWriter(${JSON.stringify(full)}, 'test');
      w.packet(w.iface('eth0', 'test'), 1e18, new Uint8Array(20), 20, 'a hop');`);
    expect(status).toBe(130);
    expect([existsSync(html), existsSync(pcapng)]).toEqual([false, false]);
    expect(readFileSync(flows, 'utf8')).toBe('{"type":"flow"}\n');
    expect(existsSync(full)).toBe(true);
  });

  it('never removes a file that was there before the run', () => {
    const html = join(dir, 'older.html');
    writeFileSync(html, 'an older report');
    expect(exitAfter(`new OutputFile(${JSON.stringify(html)}, 'the HTML report', '--html');`)).toBe(130);
    // truncated by the open, as any program writing there would, but not removed
    expect(existsSync(html)).toBe(true);
  });

  it('keeps a file the run finished, even with nothing in it', () => {
    const flows = join(dir, 'none.ndjson');
    expect(exitAfter(`new OutputFile(${JSON.stringify(flows)}, 'the flow records', '--flows').close();`)).toBe(130);
    expect(readFileSync(flows, 'utf8')).toBe('');
  });
});

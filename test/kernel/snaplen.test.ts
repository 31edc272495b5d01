// --snaplen end to end: real packets between two namespaces, recorded by the CLI with
// `record --snaplen 64`; the recording holds each packet's first bytes from its IP header
// on, with the TCP data where the headers say it starts; without --snaplen nothing but
// the records; and `export --pcapng` of the recording gives tshark the real packets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaptureReader } from '../../src/capture/reader.js';
import { EventBatch } from '../../src/events/decode.js';
import { Flag, RECORD_SIZE } from '../../src/events/layout.js';
import { CLI, runCli, runTracing } from '../helpers/cli.js';
import { isRoot, TestNet } from './helpers/testnet.js';

const skip = !isRoot() ? 'kernel tests need root (they create namespaces and load BPF programs)' : '';
const PORT = 17373;
const TCP_DATA = 'ping'; // what TestNet.tcpRequest sends
const UDP_DATA = 'snaplen-udp-datagram';
const tshark = spawnSync('tshark', ['--version']).status === 0;

interface Captured {
  hook: number;
  flags: number;
  caplen: number;
  len: number;
  bytes: Uint8Array;
  /** the record's outer source address, first two bytes */
  src: number[];
}

function readRecording(path: string): { snaplen: number; events: Captured[] } {
  const r = new CaptureReader(path);
  try {
    const events: Captured[] = [];
    for (const it of r.items()) {
      if (it.kind !== 'batch') continue;
      const b = new EventBatch(it.batch.records, it.batch.count, it.batch.payload);
      for (let i = 0; i < b.length; i++) events.push({ hook: b.hook(i), flags: b.flags(i), caplen: b.caplen(i), len: b.len(i), bytes: b.payload(i), src: [...b.addr(i, false, 'saddr').subarray(0, 2)] });
    }
    return { snaplen: r.header.snaplen, events };
  } finally {
    r.close();
  }
}

/** where a TCP segment's data starts in bytes from its IPv4 header on */
function tcpDataOffset(p: Uint8Array): number {
  const ihl = (p[0] & 0x0f) * 4;
  return ihl + (p[ihl + 12] >> 4) * 4;
}

describe('--snaplen: bad values are usage errors, before anything is loaded', () => {
  it('refuses more than the maximum, and a --snaplen nothing would keep', async () => {
    const big = await runCli(['record', '-o', '/nonexistent/x.mtrace', '--snaplen', '5000', '-d', '1']);
    expect(big.code).toBe(64);
    expect(big.err).toMatch(/--snaplen must be a whole number of bytes from 0 to 1500, not "5000"/);
    const nowhere = await runCli(['trace', '--port', String(PORT), '--snaplen', '64', '-d', '1']);
    expect(nowhere.code).toBe(64);
    expect(nowhere.err).toMatch(/--snaplen keeps packet bytes in a recording or a pcapng/);
  });
});

describe.skipIf(!!skip)('record --snaplen 64 on real packets', () => {
  const net = new TestNet('mtk-snap-');
  const dir = mkdtempSync(join(tmpdir(), 'mesh-trace-snaplen-'));
  const withBytes = join(dir, 'snap.mtrace');
  const headersOnly = join(dir, 'plain.mtrace');
  let a: string;
  let b: string;

  const traffic = async () => {
    const server = net.tcpServer(b, '10.81.0.2', PORT);
    await net.ready(server);
    expect(net.tcpRequest(a, '10.81.0.2', PORT)).toBe('pong');
    net.in(a, ['python3', '-c', `import socket
s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b${JSON.stringify(UDP_DATA)}, ('10.81.0.2', ${PORT}))`]);
  };

  beforeAll(async () => {
    a = net.ns('a');
    b = net.ns('b');
    net.veth(a, 'eth0', b, 'eth0');
    net.addr(a, 'eth0', '10.81.0.1/24');
    net.addr(b, 'eth0', '10.81.0.2/24');
    for (const [file, extra] of [
      [withBytes, ['--snaplen', '64']],
      [headersOnly, []],
    ] as const) {
      const r = await runTracing(['record', '-o', file, '--port', String(PORT), '-d', '3', ...extra], traffic);
      expect(r.code, r.err).toBe(0);
    }
  }, 60_000);

  afterAll(() => {
    net.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the first 64 bytes from the IP header on, with the TCP data where its headers put it', () => {
    const { snaplen, events } = readRecording(withBytes);
    expect(snaplen).toBe(64);
    expect(statSync(withBytes).mode & 0o777).toBe(0o600);
    // the test's own packets, by the record's headers: the namespaces' IPv6 neighbour
    // discovery can reuse a followed skb's address before its free is seen, and is then
    // followed too (as live tracing would show it)
    const ip = events.filter((e) => !(e.flags & (Flag.NO_L3 | Flag.IPV6)) && e.src[0] === 10 && e.src[1] === 81);
    expect(ip.length).toBeGreaterThan(10);
    for (const e of ip) {
      expect(e.caplen).toBe(e.bytes.byteLength);
      expect(e.caplen).toBeLessThanOrEqual(64);
      if (e.caplen) {
        expect(e.bytes[0] >> 4).toBe(4);
        // 10.81.0.x on both sides, as the record's headers say
        expect([...e.bytes.subarray(12, 15)]).toEqual([10, 81, 0]);
        expect([...e.bytes.subarray(16, 19)]).toEqual([10, 81, 0]);
      }
    }
    // every IP event carries at least its headers
    expect(ip.every((e) => e.caplen >= 28)).toBe(true);
    // the request segment: its data right after the TCP header (the tc hooks read the
    // skb's paged part too, where TCP keeps sent data)
    const data = ip.filter((e) => e.bytes[9] === 6 && e.caplen >= tcpDataOffset(e.bytes) + TCP_DATA.length && Buffer.from(e.bytes.subarray(tcpDataOffset(e.bytes), tcpDataOffset(e.bytes) + TCP_DATA.length)).toString() === TCP_DATA);
    expect(data.length).toBeGreaterThan(0);
    // the UDP datagram: 20 + 8 + its data, whole, at every hook
    const udp = ip.filter((e) => e.bytes[9] === 17);
    expect(udp.length).toBeGreaterThan(0);
    for (const e of udp) expect(Buffer.from(e.bytes.subarray(28)).toString()).toBe(UDP_DATA);
  });

  it('keeps nothing but the records without --snaplen (caplen 0 everywhere)', () => {
    const { snaplen, events } = readRecording(headersOnly);
    expect(snaplen).toBe(0);
    expect(events.length).toBeGreaterThan(10);
    expect(events.every((e) => e.caplen === 0 && e.bytes.byteLength === 0)).toBe(true);
    // and the records are still the fixed 160 bytes each
    expect(RECORD_SIZE).toBe(160);
  });

  it.skipIf(!tshark)('export --pcapng writes the real packets: tshark sees the UDP data and the TCP options', () => {
    const out = join(dir, 'snap.pcapng');
    const r = spawnSync(process.execPath, [CLI, 'export', '--pcapng', out, '--from', withBytes], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const rows = execFileSync('tshark', ['-r', out, '-T', 'fields', '-E', 'separator=|', '-e', 'ip.proto', '-e', 'data.data', '-e', 'tcp.options.mss_val', '-e', 'frame.comment'], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((l) => l.split('|'));
    const udp = rows.filter((x) => x[0] === '17');
    expect(udp.length).toBeGreaterThan(0);
    for (const x of udp) expect(Buffer.from(x[1], 'hex').toString()).toBe(UDP_DATA);
    // the SYN's real options (synthesised headers have none)
    expect(rows.some((x) => x[0] === '6' && Number(x[2]) > 0)).toBe(true);
    // headers only: the same export has no data and no options
    const plain = join(dir, 'plain.pcapng');
    expect(spawnSync(process.execPath, [CLI, 'export', '--pcapng', plain, '--from', headersOnly]).status).toBe(0);
    const plainRows = execFileSync('tshark', ['-r', plain, '-T', 'fields', '-e', 'data.data', '-e', 'tcp.options.mss_val'], { encoding: 'utf8' });
    expect(plainRows.replace(/\s/g, '')).toBe('');
  });
});

// pcapng out, read back by the real tshark: the lab's recorded request (test/fixtures)
// exported as one packet per hop, on interfaces named node/netns/device, each packet with
// its comment, and the packets themselves decoding as the headers at that hop.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from '../helpers/cli.js';

const fx = (name: string) => join(__dirname, '..', 'fixtures', name);
const tshark = spawnSync('tshark', ['--version']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'mesh-trace-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fields(file: string, ...f: string[]): string[][] {
  const out = execFileSync('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=|', ...f.flatMap((x) => ['-e', x])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return out.trim().split('\n').map((l) => l.split('|'));
}

describe.skipIf(!tshark)('export --pcapng (skipped: tshark is not installed; scripts/install.sh installs it)', () => {
  it('one packet per hop, interfaces named from the topology, a comment per packet', () => {
    const out = join(dir, 'lab.pcapng');
    const r = spawnSync(process.execPath, [CLI, 'export', '--pcapng', out, '--from', fx('lab-request.mtrace')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^wrote 36 packets of 1 flow to /m);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const rows = fields(out, 'frame.interface_name', 'frame.comment', 'ip.src', 'ip.dst', 'tcp.dstport', 'tcp.flags.syn');
    expect(rows).toHaveLength(36);
    expect(rows.map((x) => x[0]).slice(0, 6)).toEqual(['lab/client/eth0', 'node1/host/eth1', 'node1/host/eth1', 'node1/host/docker_gwbridge', expect.stringMatching(/^node1\/host\/veth/), 'node1/ingress-sbox/eth1']);
    expect(rows[2][1]).toBe('flow 1 forward hop 3/18: node1 · host · eth1 (underlay) nat; +11.8µs; DNAT 192.168.60.1:1080 → 172.18.0.2:1080 [nat DOCKER-INGRESS DNAT tcp dpt:1080 → 172.18.0.2:1080]');
    // the packet at each hop carries the headers it had there
    expect(rows[1].slice(2, 5)).toEqual(['192.168.60.100', '192.168.60.1', '1080']);
    expect(rows[2].slice(2, 5)).toEqual(['192.168.60.100', '172.18.0.2', '1080']);
    expect(rows[17].slice(1, 5)).toEqual(['flow 1 forward hop 18/18: node2 · nginx.1 · eth2 (ingress) in; +2.5µs; path delivered', '10.255.0.2', '10.255.0.5', '80']);
    expect(rows[12][1]).toMatch(/VXLAN encap vni 4096 192\.168\.50\.1:\d+ → 192\.168\.50\.2:4789/);
    expect(rows[18][1]).toBe('flow 1 reply hop 1/18: node2 · nginx.1 · eth2 (ingress) out');
    const ifaces = new Set(rows.map((x) => x[0]));
    expect(ifaces.size).toBe(15);
  });

  it('from a tcpdump pcap too, and a clear error for a bad --from', () => {
    const out = join(dir, 'u.pcapng');
    const r = spawnSync(process.execPath, [CLI, 'export', '--pcapng', out, '--from', fx('lab-underlay.pcap')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(fields(out, 'frame.interface_name', 'frame.comment')[0]).toEqual(['pcap/lab-underlay.pcap/lab-underlay', 'flow 1 forward hop 1/1: pcap · lab-underlay.pcap · lab-underlay seen; path open']);
    const bad = spawnSync(process.execPath, [CLI, 'export', '--pcapng', out, '--from', fx('lab-topology.json')], { encoding: 'utf8' });
    expect(bad.status).toBe(65);
    expect(bad.stderr).toMatch(/^mesh-trace: .*lab-topology\.json is not a mesh-trace capture, pcap or pcapng file \(it starts with 7b 0a 20 20\)\.$/m);
  });
});

// `mesh-trace --port 1080` on the lab, as a user runs it (the built CLI in a child
// process): one request from the client to node1:1080 is one flow whose hops are the
// routing mesh's, with every rewrite; a DROP for the port in ingress-sbox ends the flow
// there with the netfilter drop reason; traffic to other ports yields nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseLbMode, labDown, labExec, labLayout, labRequest, labUp } from '../../src/lab/index.js';
import type { FlowRecord, Hop } from '../../src/correlate/index.js';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, runTracing } from '../helpers/cli.js';

const root = process.getuid?.() === 0;

const hopText = (h: Hop) => `${h.node} · ${h.netns}${h.device && h.what !== 'nat' ? ` · ${h.device}` : ''} ${h.what}`;
const changeTexts = (hops: Hop[]) => hops.flatMap((h) => h.changes.map((c) => `${h.node} · ${h.netns} ${c.kind} ${c.from ?? ''} → ${c.to ?? c.vni}`));

// the hop lists below are those of the lab's iptables load balancer (kernels without ip_vs)
const mode = chooseLbMode().mode;
const ipvsNote = mode === 'ipvs' ? ' (skipped: this kernel has ip_vs, so the lab balances with IPVS, whose hops differ)' : '';

describe.skipIf(!root)('mesh-trace --port 1080 on the lab', () => {
  // the host side of ingress-sbox's docker_gwbridge veth (Docker's random-looking name)
  const gwVeth = labLayout('iptables').veths.find((v) => v.a.ns.endsWith('node1-ingress_sbox') && v.a.dev === 'eth1')!.b.dev;

  beforeAll(async () => {
    await labDown();
    await labUp();
  }, 180_000);
  afterAll(async () => {
    await labDown();
  });

  it.skipIf(mode !== 'iptables')(`one request is one flow: the routing mesh hop by hop, every rewrite, both ways${ipvsNote}`, async () => {
    const r = await runTracing(['--port', '1080', '--count', '1', '--json'], () => labRequest());
    expect(r.code, r.err).toBe(0);
    const flows: FlowRecord[] = r.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(flows).toHaveLength(1);
    const f = flows[0];
    expect(f).toMatchObject({ type: 'flow', id: 1, proto: 'TCP', server: '192.168.60.1:1080', state: 'closed' });
    expect(f.client).toMatch(/^192\.168\.60\.100:\d+$/);
    expect(f.forward!.packet.flags).toBe('S');
    expect(f.forward!.hops.map(hopText)).toEqual([
      'lab · client · eth0 out',
      'node1 · host · eth1 in',
      'node1 · host nat',
      'node1 · host · docker_gwbridge out',
      `node1 · host · ${gwVeth} out`,
      'node1 · ingress-sbox · eth1 in',
      'node1 · ingress-sbox nat',
      'node1 · ingress-sbox nat',
      'node1 · ingress-sbox · eth0 out',
      'node1 · 1-ingress · veth0 in',
      'node1 · 1-ingress · br0 through',
      'node1 · 1-ingress · vxlan0 out',
      'node1 · host · eth0 out',
      'node2 · host · eth0 in',
      'node2 · 1-ingress · vxlan0 in',
      'node2 · 1-ingress · br0 through',
      'node2 · 1-ingress · veth1 out',
      'node2 · nginx.1 · eth2 in',
    ]);
    const port = f.client.split(':')[1];
    expect(changeTexts(f.forward!.hops)).toEqual([
      'node1 · host DNAT 192.168.60.1:1080 → 172.18.0.2:1080',
      'node1 · ingress-sbox MARK 0x0 → 0x100',
      'node1 · ingress-sbox DNAT 172.18.0.2:1080 → 10.255.0.5:80',
      `node1 · ingress-sbox SNAT 192.168.60.100:${port} → 10.255.0.2:${port}`,
      expect.stringMatching(/^node1 · host VXLAN-encap 192\.168\.50\.1:\d+ → 192\.168\.50\.2:4789$/),
      'node2 · 1-ingress VXLAN-decap  → 4096',
    ]);
    const encap = f.forward!.hops.find((h) => h.changes.some((c) => c.kind === 'VXLAN-encap'))!;
    expect(encap.vxlan).toMatchObject({ vni: 4096, dst: '192.168.50.2:4789' });
    expect(f.forward!.hops[2].changes[0].rule).toBe('nat DOCKER-INGRESS DNAT tcp dpt:1080 → 172.18.0.2:1080');
    expect(f.forward!.hops.every((h, i) => i === 0 || (h.latency_ns !== null && h.latency_ns >= 0))).toBe(true);
    expect(f.forward!.end).toBe('delivered');

    expect(f.reply!.packet).toMatchObject({ flags: 'S.', src: '10.255.0.5:80', dst: `10.255.0.2:${port}` });
    expect(f.reply!.hops.map(hopText)).toEqual([
      'node2 · nginx.1 · eth2 out',
      'node2 · 1-ingress · veth1 in',
      'node2 · 1-ingress · br0 through',
      'node2 · 1-ingress · vxlan0 out',
      'node2 · host · eth0 out',
      'node1 · host · eth0 in',
      'node1 · 1-ingress · vxlan0 in',
      'node1 · 1-ingress · br0 through',
      'node1 · 1-ingress · veth0 out',
      'node1 · ingress-sbox · eth0 in',
      'node1 · ingress-sbox nat',
      'node1 · ingress-sbox nat',
      'node1 · ingress-sbox · eth1 out',
      `node1 · host · ${gwVeth} in`,
      'node1 · host · docker_gwbridge in',
      'node1 · host nat',
      'node1 · host · eth1 out',
      'lab · client · eth0 in',
    ]);
    expect(changeTexts(f.reply!.hops).filter((c) => !c.includes('VXLAN'))).toEqual([
      `node1 · ingress-sbox un-SNAT 10.255.0.2:${port} → 192.168.60.100:${port}`,
      'node1 · ingress-sbox un-DNAT 10.255.0.5:80 → 172.18.0.2:1080',
      'node1 · host un-DNAT 172.18.0.2:1080 → 192.168.60.1:1080',
    ]);
    expect(r.err).toMatch(/^1 flow from \d+ events; lost: ring 0, queue 0, flows evicted 0, journeys evicted 0, events truncated 0;/m);
  });

  it.skipIf(mode !== 'iptables')(`the human output reads like the diagram, with latencies${ipvsNote}`, async () => {
    const r = await runTracing(['--port', '1080', '--count', '1'], () => labRequest());
    expect(r.code, r.err).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{6} {2}TCP 192\.168\.60\.100:\d+ → 192\.168\.60\.1:1080 {2}closed /);
    expect(lines[1]).toMatch(/^ {2}→ SYN {2}192\.168\.60\.100:\d+ > 192\.168\.60\.1:1080$/);
    expect(r.out).toMatch(/\+[\d.]+(ns|µs|ms) {2}node1 · host +DNAT 192\.168\.60\.1:1080 → 172\.18\.0\.2:1080 {2}\[nat DOCKER-INGRESS/);
    expect(r.out).toMatch(/node1 · host · eth0 \(underlay\) +out {2}VXLAN encap vni 4096 192\.168\.50\.1:\d+ → 192\.168\.50\.2:4789/);
    expect(r.out).toMatch(/node2 · nginx\.1 · eth2 \(ingress\) +in\n +delivered in [\d.]+(µs|ms)/);
    expect(r.out).toMatch(/^ {2}← SYN-ACK {2}10\.255\.0\.5:80 > 10\.255\.0\.2:\d+$/m);
    expect(r.out).not.toMatch(/\x1b\[/); // no colour on a pipe
  });

  it('a DROP for the port in ingress-sbox ends the flow there, with the netfilter drop reason', async () => {
    // With IPVS (Docker, and the lab where the kernel has ip_vs) the packet for 172.18.0.2:1080
    // is delivered locally and IPVS takes it at INPUT: the seeds close the mesh in INPUT. Where
    // iptables DNAT stands in for IPVS the packet is forwarded at PREROUTING and never reaches
    // INPUT, so the same rule goes in FORWARD, matched on the port the client asked for.
    const rule = mode === 'ipvs' ? ['INPUT', '-p', 'tcp', '--dport', '1080', '-j', 'DROP'] : ['FORWARD', '-p', 'tcp', '-m', 'conntrack', '--ctorigdstport', '1080', '-j', 'DROP'];
    await labExec('node1/ingress-sbox', ['iptables', '-I', ...rule]);
    try {
      const r = await runTracing(['--port', '1080', '--count', '1', '--json', '--flow-timeout', '1'], () => labRequest('node1', 1080, 1).catch(() => 'no answer'));
      expect(r.code, r.err).toBe(0);
      const [f]: FlowRecord[] = r.out.trim().split('\n').map((l) => JSON.parse(l));
      expect(f.state).toBe('dropped');
      expect(f.reply).toBeNull();
      const last = f.forward!.hops.at(-1)!;
      expect(last).toMatchObject({ node: 'node1', netns: 'ingress-sbox', what: 'drop', drop_reason: 'NETFILTER_DROP' });
      expect(f.forward!.end).toBe('dropped');
      expect(f.drops).toEqual([{ direction: 'forward', where: last.where, reason: 'NETFILTER_DROP', count: f.packets.forward }]);
    } finally {
      await labExec('node1/ingress-sbox', ['iptables', '-D', ...rule]);
    }
  });

  it('--container and --service keep the flows that reach them; an unknown name is a clear error', async () => {
    const kept = await runTracing(['--port', '1080', '--count', '1', '--json', '--container', 'nginx.1', '--docker', '/nonexistent.sock'], () => labRequest());
    expect(kept.code, kept.err).toBe(0);
    expect(JSON.parse(kept.out).forward.hops.at(-1).netns).toBe('nginx.1');
    const other = await runTracing(['--port', '1080', '--json', '--duration', '2', '--service', 'redis', '--docker', '/nonexistent.sock'], () => labRequest());
    expect(other.out).toBe('');
    expect(other.err).toMatch(/^0 flows \(1 more filtered out\) from \d+ events;/m);
    const bad = await runTracing(['--port', '1080', '--container', 'nosuch'], async () => {});
    expect(bad.code).toBe(66);
    expect(bad.err).toMatch(/^mesh-trace: No container named "nosuch" is running here\.$/m);
  });

  it('a recording replays to the same NDJSON as live, byte for byte; filters work on replay as live', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mesh-trace-rec-'));
    try {
      const file = join(dir, 'lab.mtrace');
      const live = await runTracing(['--port', '1080', '--json', '--duration', '3', '-w', file], async () => {
        await labRequest();
        await labRequest();
      });
      expect(live.code, live.err).toBe(0);
      expect(live.out.trim().split('\n')).toHaveLength(2);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const replay = await runCli(['replay', file, '--json']);
      expect(replay.code, replay.err).toBe(0);
      expect(replay.out).toBe(live.out);
      expect(replay.err).toMatch(/^2 flows from \d+ events; lost: ring 0, queue 0, flows evicted 0, journeys evicted 0, events truncated 0; recorded on /m);
      // the kernel filter again: what it passed, it passes; another port, nothing
      expect((await runCli(['replay', file, '--json', '--port', '1080'])).out).toBe(live.out);
      expect((await runCli(['replay', file, '--json', '--port', '1081'])).out).toBe('');
      // names from the recorded topology
      const one = await runCli(['replay', file, '--json', '--container', 'nginx.1', '--count', '1']);
      expect(one.out).toBe(live.out.split('\n')[0] + '\n');
      const human = await runCli(['replay', file]);
      expect(human.out).toMatch(/node1 · host +DNAT 192\.168\.60\.1:1080 → 172\.18\.0\.2:1080/);
      // `record` writes the same kind of file, without printing flows
      const rec = join(dir, 'rec.mtrace');
      const r = await runTracing(['record', '-o', rec, '--port', '1080', '--duration', '2'], () => labRequest());
      expect(r.code, r.err).toBe(0);
      expect(r.out).toBe('');
      expect(r.err).toMatch(/recorded to .*rec\.mtrace/);
      const back: FlowRecord[] = (await runCli(['replay', rec, '--json'])).out.trim().split('\n').map((l) => JSON.parse(l));
      expect(back).toHaveLength(1);
      expect(back[0].forward!.hops.at(-1)).toMatchObject({ netns: 'nginx.1' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("tcpdump's capture of the underlay replays into the flow inside the tunnel, VNI 4096", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mesh-trace-pcap-'));
    try {
      const file = join(dir, 'underlay.pcap');
      const { spawn } = await import('node:child_process');
      const dump = spawn('ip', ['netns', 'exec', labLayout('iptables').nodes[0].hostNs, 'tcpdump', '-Z', 'root', '--immediate-mode', '-i', 'eth0', '-U', '-w', file, 'udp port 4789'], { stdio: ['ignore', 'ignore', 'pipe'] });
      await new Promise<void>((resolve) => dump.stderr.on('data', (d) => /listening/.test(String(d)) && resolve()));
      await labRequest();
      await new Promise((r) => setTimeout(r, 300));
      dump.kill('SIGINT');
      await new Promise((r) => dump.on('exit', r));
      const r = await runCli(['replay', file, '--json']);
      expect(r.code, r.err).toBe(0);
      expect(r.out, r.err).not.toBe('');
      const flows: FlowRecord[] = r.out.trim().split('\n').map((l) => JSON.parse(l));
      expect(flows).toHaveLength(1);
      expect(flows[0]).toMatchObject({ server: '10.255.0.5:80', state: 'closed' });
      expect(flows[0].forward!.hops[0].vxlan).toMatchObject({ vni: 4096, dst: '192.168.50.2:4789' });
      expect(flows[0].reply!.hops[0].vxlan).toMatchObject({ vni: 4096, dst: '192.168.50.1:4789' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('traffic to other ports yields nothing', async () => {
    const r = await runTracing(['--port', '1080', '--json', '--duration', '2'], () => labRequest('node1', 1081, 1).catch(() => 'refused'));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/^0 flows from 0 events;/m);
  });
});

// pcap and pcapng in: real captures of the lab (tcpdump's pcap of node1's underlay, and
// tshark's pcapng of node1's eth0 and eth1, in test/fixtures) become flows; VXLAN is
// decoded outer and inner; the sightings of one packet on two devices are one path; a
// topology names the devices. Damaged files give one error naming the offset.
import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { afterAll } from 'vitest';
import { PcapImport } from '../../src/pcap/import.js';
import { replayPcap } from '../../src/pcap/replay.js';
import { PcapReader } from '../../src/pcap/read.js';
import { FlowPipeline } from '../../src/correlate/pipeline.js';
import { ReplayFilter } from '../../src/events/replay-filter.js';
import type { FlowRecord } from '../../src/correlate/index.js';
import { loadTopology } from '../../src/capture/sniff.js';
import { MeshTraceError } from '../../src/errors.js';

const fx = (name: string) => join(__dirname, '..', 'fixtures', name);
const dir = mkdtempSync(join(tmpdir(), 'mesh-trace-pcap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function flowsOf(files: string[], opts: ConstructorParameters<typeof PcapImport>[1] = {}, port?: number): { flows: FlowRecord[]; damage?: unknown } {
  const imp = new PcapImport(files, opts);
  const flows: FlowRecord[] = [];
  try {
    const p = new FlowPipeline({ namer: imp.namer((n) => `reason ${n}`), wallClock: (_c, ns) => imp.wallNs(ns), dropReason: String, events: new ReplayFilter(port ? { port } : {}), onFlows: (f) => flows.push(...f) });
    if (opts.topology) p.topology(opts.topology);
    const r = replayPcap(imp, p);
    return { flows, damage: r.damage };
  } finally {
    imp.close();
  }
}

describe('pcap in', () => {
  it("tcpdump's capture of the underlay: one flow, inside VXLAN VNI 4096, named by the file", () => {
    const { flows, damage } = flowsOf([fx('lab-underlay.pcap')]);
    expect(damage).toBeUndefined();
    expect(flows).toHaveLength(1);
    const f = flows[0];
    expect(f).toMatchObject({ proto: 'TCP', server: '10.255.0.5:80', state: 'closed', packets: { forward: 7, reply: 5 } });
    expect(f.forward!.hops).toHaveLength(1);
    expect(f.forward!.hops[0]).toMatchObject({ node: 'pcap', netns: 'lab-underlay.pcap', device: 'lab-underlay', what: 'seen', hooks: ['captured'], vxlan: { vni: 4096, dst: '192.168.50.2:4789' } });
    expect(f.reply!.hops[0].vxlan).toMatchObject({ vni: 4096, dst: '192.168.50.1:4789' });
    expect(f.start).toBe('2026-11-21T07:10:01.387Z');
  });

  it("tshark's pcapng of two interfaces: each packet's sightings are one path, with the rewrites between them", () => {
    const { flows } = flowsOf([fx('lab-eth0-eth1.pcapng')]);
    expect(flows).toHaveLength(1);
    const f = flows[0];
    expect(f.client).toMatch(/^192\.168\.60\.100:\d+$/);
    expect(f.server).toBe('192.168.60.1:1080');
    expect(f.forward!.hops.map((h) => `${h.device} ${h.what}`)).toEqual(['eth1 seen', 'eth0 seen']);
    const kinds = f.forward!.hops[1].changes.map((c) => c.kind);
    expect(kinds).toEqual(['VXLAN-encap', 'DNAT', 'SNAT']);
    // no rule is claimed: the capture cannot tell which namespace rewrote the packet
    expect(f.forward!.hops[1].changes.every((c) => c.rule === undefined)).toBe(true);
    expect(f.forward!.hops[1].latency_ns).toBeGreaterThan(0);
  });

  it('with a topology and --map, devices get their real names and the direction comes from the MAC', () => {
    const topology = loadTopology(fx('lab-topology.json'));
    const { flows } = flowsOf([fx('lab-eth0-eth1.pcapng')], { topology, map: { eth0: 'node1/host/eth0', eth1: 'node1/host/eth1' } });
    expect(flows[0].forward!.hops.map((h) => `${h.where} ${h.what}`)).toEqual(['node1 · host · eth1 (underlay) in', 'node1 · host · eth0 (underlay) out']);
    expect(flows[0].reply!.hops.map((h) => `${h.where} ${h.what}`)).toEqual(['node1 · host · eth0 (underlay) in', 'node1 · host · eth1 (underlay) out']);
    expect(() => flowsOf([fx('lab-eth0-eth1.pcapng')], { topology, map: { eth0: 'node9/host/eth0' } })).toThrow(/--map eth0=node9\/host\/eth0: the topology has no such device/);
  });

  it('--port filters a pcap as the kernel would (outer or inner)', () => {
    expect(flowsOf([fx('lab-underlay.pcap')], {}, 80).flows).toHaveLength(1);
    expect(flowsOf([fx('lab-underlay.pcap')], {}, 4789).flows).toHaveLength(1);
    expect(flowsOf([fx('lab-underlay.pcap')], {}, 1081).flows).toHaveLength(0);
  });

  it('two files are merged in time order', () => {
    const { flows } = flowsOf([fx('lab-underlay.pcap'), fx('lab-eth0-eth1.pcapng')]);
    expect(flows).toHaveLength(1);
    expect(flows[0].forward!.hops.map((h) => h.device)).toEqual(['eth1', 'lab-underlay', 'eth0']);
  });
});

describe('damaged pcaps', () => {
  const pcap = readFileSync(fx('lab-underlay.pcap'));
  const ng = readFileSync(fx('lab-eth0-eth1.pcapng'));
  const put = (name: string, b: Uint8Array) => {
    const p = join(dir, name);
    writeFileSync(p, b);
    return p;
  };

  it('cut short: the packets before are used, the error names the offset', () => {
    const r = flowsOf([put('cut.pcap', pcap.subarray(0, pcap.length - 10))]);
    expect((r.damage as Error).message).toMatch(/cut\.pcap is damaged at byte \d+: a packet of \d+ bytes is cut short/);
    expect(r.flows).toHaveLength(1);
    const n = flowsOf([put('cut.pcapng', ng.subarray(0, 1000))]);
    expect((n.damage as Error).message).toMatch(/cut\.pcapng is damaged at byte \d+: a block of \d+ bytes is cut short/);
  });

  it('a header from nowhere, a bad block length, a packet on an undescribed interface', () => {
    const a = Buffer.from(pcap);
    a.writeUInt16LE(7, 4);
    expect(() => [...new PcapReader(put('v7.pcap', a)).packets()]).toThrow(/damaged at byte 4: pcap version 7/);
    const b = Buffer.from(ng);
    b.writeUInt32LE(13, 4);
    const e = (() => {
      try {
        [...new PcapReader(put('len.pcapng', b)).packets()];
      } catch (err) {
        return err as MeshTraceError;
      }
    })();
    expect(e).toBeInstanceOf(MeshTraceError);
    expect(e!.message).toMatch(/damaged at byte 0: a block of type 0xa0d0d0a claims a length of 13 bytes/);
    expect(() => new PcapReader(put('garbage', Buffer.from('GIF89a……')))).toThrow(/is not a pcap or pcapng file/);
  });
});

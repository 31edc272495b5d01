// The lab against the kernel: it builds the seeds' two-node swarm in namespaces, a request
// from the client to node1:1080 reaches nginx on node2 over VXLAN, and `down` leaves nothing.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labExec, labLayout, labRequest, labStatus, labUp, LAB_PREFIX, readLabMetadata } from '../../src/lab/index.js';

const ipj = (ns: string, ...args: string[]): any[] => JSON.parse(execFileSync('ip', ['-n', ns, '-j', ...args], { encoding: 'utf8' }) || '[]');
const labNs = (): string[] => {
  try {
    return readdirSync('/run/netns').filter((n) => n.startsWith(LAB_PREFIX));
  } catch {
    return [];
  }
};
const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)('mesh-trace lab', () => {
  beforeAll(async () => {
    await labDown();
    await labUp();
  });
  afterAll(async () => {
    await labDown();
  });

  it('builds every namespace of the layout, each named with the lab prefix', async () => {
    const expected = labLayout('iptables').namespaces.map((n) => n.name).sort();
    expect(labNs().sort()).toEqual(expected);
    const s = await labStatus();
    expect(s.up).toBe(true);
    expect(s.lbMode).toBe('iptables'); // this kernel has no ip_vs
    expect(s.lbReason).toMatch(/ip_vs/);
    expect(s.servers.every((x) => x.running)).toBe(true);
  });

  it('answers the client on node1:1080 with nginx from node2, crossing VXLAN 4096', async () => {
    const rx = () => ipj('mtlab-node2-1-ingress', '-s', 'link', 'show', 'vxlan0')[0].stats64.rx.packets as number;
    const before = rx();
    expect(await labRequest('node1')).toBe('nginx on node2 (mesh-trace lab)\n');
    expect(rx()).toBeGreaterThan(before);
    expect(await labRequest('node2')).toBe('nginx on node2 (mesh-trace lab)\n');
  });

  it('lays out ingress-sbox, the overlays and the containers as Docker does', () => {
    for (const node of ['node1', 'node2']) {
      const host = ipj(`mtlab-${node}`, '-d', 'link');
      expect(host.find((l) => l.ifname === 'docker_gwbridge')?.linkinfo.info_kind).toBe('bridge');
      const sbox = ipj(`mtlab-${node}-ingress_sbox`, '-d', 'addr');
      expect(sbox.find((l) => l.ifname === 'eth0').addr_info[0].local).toMatch(/^10\.255\.0\./);
      expect(sbox.find((l) => l.ifname === 'eth1').addr_info[0].local).toBe('172.18.0.2');
      for (const [net, vni] of [['ingress', 4096], ['net1', 4097]] as const) {
        const links = ipj(`mtlab-${node}-1-${net}`, '-d', 'link');
        const vx = links.find((l) => l.ifname === 'vxlan0');
        expect(vx.linkinfo.info_kind).toBe('vxlan');
        expect(vx.linkinfo.info_data.id).toBe(vni);
        expect(vx.linkinfo.info_data.port).toBe(4789);
        expect(vx.master).toBe('br0');
        const fdb = JSON.parse(execFileSync('bridge', ['-n', `mtlab-${node}-1-${net}`, '-j', 'fdb', 'show', 'dev', 'vxlan0'], { encoding: 'utf8' }));
        const other = node === 'node1' ? '192.168.50.2' : '192.168.50.1';
        expect(fdb.some((f: any) => f.dst === other && f.state === 'permanent')).toBe(true);
        expect(links.filter((l) => l.linkinfo?.info_kind === 'veth').every((l) => l.master === 'br0')).toBe(true);
      }
    }
    const nginx = ipj('mtlab-node2-nginx', '-d', 'addr');
    expect(nginx.find((l) => l.ifname === 'eth0').addr_info[0].local).toBe('10.0.1.5');
    expect(nginx.find((l) => l.ifname === 'eth1').addr_info[0].local).toBe('172.18.0.3');
  });

  it('programs the routing mesh: DNAT on the host, MARK, load balancing and SNAT in ingress-sbox', () => {
    const save = (ns: string) => execFileSync('ip', ['netns', 'exec', ns, 'iptables-save'], { encoding: 'utf8' });
    expect(save('mtlab-node1')).toMatch(/-A DOCKER-INGRESS -p tcp -m tcp --dport 1080 -j DNAT --to-destination 172\.18\.0\.2:1080/);
    const sbox = save('mtlab-node1-ingress_sbox');
    expect(sbox).toMatch(/-A PREROUTING -p tcp -m tcp --dport 1080 -j MARK --set-xmark 0x100\/0xffffffff/);
    expect(sbox).toMatch(/-j DNAT --to-destination 10\.255\.0\.5:80/);
    expect(sbox).toMatch(/-A POSTROUTING -d 10\.255\.0\.0\/16 .*-j SNAT --to-source 10\.255\.0\.2/);
  });

  it('gives no lab namespace a default route or a route outside the lab', () => {
    const labNets = /^(192\.168\.(50|60|61)\.|172\.18\.|10\.255\.|10\.0\.1\.)/;
    for (const ns of labNs()) {
      for (const r of ipj(ns, 'route', 'show', 'table', 'all')) {
        if (r.type === 'local' || r.type === 'broadcast' || r.table === 'local') continue;
        expect(r.dst, `${ns}: ${JSON.stringify(r)}`).not.toBe('default');
        expect(r.dst, `${ns}: ${JSON.stringify(r)}`).toMatch(labNets);
      }
    }
  });

  it('is idempotent', async () => {
    const inodes = labNs().map((n) => statSync(`/run/netns/${n}`).ino);
    const t = Date.now();
    const r = await labUp();
    expect(r.built).toBe(false);
    expect(Date.now() - t).toBeLessThan(1000);
    expect(labNs().map((n) => statSync(`/run/netns/${n}`).ino)).toEqual(inodes);
  });

  it('exec runs argv in a lab namespace without a shell', async () => {
    const odd = `$(touch mtlab-pwned) 'q' "é" ; ls`;
    const r = await labExec('nginx', ['busybox', 'echo', odd]);
    expect(r.stdout).toBe(`${odd}\n`);
    expect(() => statSync('mtlab-pwned')).toThrow();
    const a = await labExec('node1/ingress-sbox', ['ip', '-j', 'addr', 'show', 'eth1']);
    expect(JSON.parse(a.stdout)[0].addr_info[0].local).toBe('172.18.0.2');
    await expect(labExec('nowhere', ['true'])).rejects.toThrow(/no node or container named "nowhere"/);
  });

  it('down leaves no namespace, process or metadata; up again rebuilds', async () => {
    const meta = await readLabMetadata();
    const pids = meta!.servers.map((s) => s.pid);
    await labDown();
    expect(labNs()).toEqual([]);
    for (const pid of pids) expect(() => statSync(`/proc/${pid}/ns/net`)).toThrow();
    expect(await readLabMetadata()).toBeUndefined();
    expect((await labStatus()).up).toBe(false);
    const r = await labUp();
    expect(r.built).toBe(true);
    expect(r.check).toMatch(/nginx on node2/);
  });
});

// The topology model against the lab: every namespace and device named as Docker would,
// veth pairs joined across namespaces, VXLAN tunnels with VNI and remotes, the routing
// mesh's rules, and the expected path of a request to port 1080.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labDown, labLayout, labUp } from '../../src/lab/index.js';
import { collectTopology, compareSnapshots, createResolver, parseSnapshot, renderDot, renderText, resolvePublishedPort, serializeSnapshot, type TopologySnapshot } from '../../src/topology/index.js';

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)('topology of the lab', () => {
  let snap: TopologySnapshot;
  beforeAll(async () => {
    await labUp();
    snap = await collectTopology({ docker: ['/nonexistent/docker.sock'] });
  });
  afterAll(async () => {
    await labDown();
  });

  it('names every lab namespace, and says Docker was not found', () => {
    expect(snap.warnings.some((w) => w.includes('Docker was not found at /nonexistent/docker.sock'))).toBe(true);
    for (const n of labLayout('iptables').namespaces) {
      const ns = snap.netns.find((x) => x.names.includes(n.name));
      expect(ns, n.name).toBeDefined();
      expect(ns!.node).toBe(n.node);
      expect(ns!.display).toBe(n.display);
      expect(ns!.role).toBe(n.role);
    }
    expect(snap.nodes).toEqual(expect.arrayContaining(['node1', 'node2', 'lab']));
  });

  it('resolves (netns inode, ifindex) to Docker-style labels for every lab device', () => {
    const r = createResolver(snap);
    const sbox = snap.netns.find((n) => n.names.includes('mtlab-node1-ingress_sbox'))!;
    const eth1 = sbox.devices.find((d) => d.name === 'eth1')!;
    expect(r.resolve(sbox.inode, eth1.ifindex)).toMatchObject({ label: 'node1 · ingress-sbox · eth1 (docker_gwbridge)', kind: 'veth', network: 'docker_gwbridge' });
    const nginx = snap.netns.find((n) => n.names.includes('mtlab-node2-nginx'))!;
    expect(r.label(nginx.inode, nginx.devices.find((d) => d.name === 'eth0')!.ifindex)).toBe('node2 · nginx.1 · eth0 (net1)');
    // every lab device (but lo) is on a network
    for (const ns of snap.netns.filter((n) => n.names.some((x) => x.startsWith('mtlab-')))) {
      for (const d of ns.devices.filter((x) => x.kind !== 'loopback')) expect(d.network, `${ns.display} ${d.name}`).toBeDefined();
    }
    const kinds = new Set(r.devices().filter((d) => d.node === 'node1').map((d) => d.kind));
    expect([...kinds].sort()).toEqual(['bridge', 'loopback', 'veth', 'vxlan']);
  });

  it('joins every veth pair across namespaces, both ways', () => {
    const byInode = new Map(snap.netns.map((n) => [n.inode, n]));
    const labNs = snap.netns.filter((n) => n.names.some((x) => x.startsWith('mtlab-')));
    let pairs = 0;
    for (const ns of labNs) {
      for (const d of ns.devices.filter((x) => x.kind === 'veth')) {
        expect(d.peer?.netnsInode, `${ns.display} ${d.name}`).toBeDefined();
        const p = byInode.get(d.peer!.netnsInode!)!.devices.find((x) => x.ifindex === d.peer!.ifindex)!;
        expect(p.peer).toMatchObject({ netnsInode: ns.inode, ifindex: d.ifindex });
        pairs++;
      }
    }
    expect(pairs).toBe(labLayout('iptables').veths.length * 2);
  });

  it('shows bridges with their ports and VXLAN tunnels with VNI, port, remote and fdb', () => {
    for (const [node, other] of [['node1', '192.168.50.2'], ['node2', '192.168.50.1']]) {
      const host = snap.netns.find((n) => n.node === node && n.role === 'host')!;
      for (const [net, vni] of [['ingress', 4096], ['net1', 4097]] as const) {
        const ov = snap.netns.find((n) => n.node === node && n.display === `1-${net}`)!;
        const br0 = ov.devices.find((d) => d.name === 'br0')!;
        expect(br0.kind).toBe('bridge');
        expect(br0.ports).toContain('vxlan0');
        const vx = ov.devices.find((d) => d.name === 'vxlan0')!;
        expect(vx.vxlan).toMatchObject({ vni, port: 4789, remotes: [other], learning: false, proxy: true });
        expect(vx.vxlan!.socketNetnsInode).toBe(host.inode);
        expect(vx.vxlan!.fdb.every((f) => f.dst === other && f.permanent)).toBe(true);
      }
      const gw = host.devices.find((d) => d.name === 'docker_gwbridge')!;
      expect(gw.ports!.length).toBe(node === 'node1' ? 3 : 2);
    }
  });

  it('reads the routing mesh rules with their matches', () => {
    const host = snap.netns.find((n) => n.node === 'node1' && n.role === 'host')!;
    expect(host.rules.find((r) => r.target === 'DNAT')).toMatchObject({ table: 'nat', chain: 'DOCKER-INGRESS', match: { protocol: 'tcp', dport: '1080' }, to: '172.18.0.2:1080' });
    const sbox = snap.netns.find((n) => n.node === 'node1' && n.role === 'ingress-sbox')!;
    expect(sbox.rules.find((r) => r.target === 'MARK')).toMatchObject({ table: 'mangle', chain: 'PREROUTING', match: { dport: '1080' }, setMark: '0x100/0xffffffff' });
    expect(sbox.rules.find((r) => r.target === 'SNAT')).toMatchObject({ chain: 'POSTROUTING', match: { dst: '10.255.0.0/16', mark: '0x100' }, to: '10.255.0.2' });
    expect(sbox.ipvs).toBeUndefined(); // no ip_vs in this kernel
  });

  it('resolves port 1080 to the hops of the seeds: DNAT, gwbridge, mark, balancer, SNAT, VXLAN, nginx', () => {
    const p = resolvePublishedPort(snap, 1080, { node: 'node1' });
    expect(p.gaps).toEqual([]);
    expect(p.balancer).toBe('iptables');
    expect(p.backends).toEqual(['10.255.0.5:80']);
    expect(p.hops.map((h) => h.text)).toEqual([
      'node1 · host · nat PREROUTING → DOCKER-INGRESS dst-type LOCAL',
      'node1 · host · nat DOCKER-INGRESS DNAT tcp dpt:1080 → 172.18.0.2:1080',
      'node1 · host · docker_gwbridge (docker_gwbridge)',
      expect.stringMatching(/^node1 · host · veth[0-9a-f]{7} \(docker_gwbridge\)$/),
      'node1 · ingress-sbox · eth1 (docker_gwbridge)',
      'node1 · ingress-sbox · mangle PREROUTING MARK tcp dpt:1080 mark 0x100/0xffffffff',
      expect.stringMatching(/^node1 · ingress-sbox · nat PREROUTING DNAT tcp mark 0x100 → 10\.255\.0\.5:80/),
      'node1 · ingress-sbox · nat POSTROUTING SNAT dst 10.255.0.0/16 mark 0x100 → 10.255.0.2',
      'node1 · ingress-sbox · eth0 (ingress)',
      'node1 · 1-ingress · veth0 (ingress)',
      'node1 · 1-ingress · br0 (ingress)',
      'node1 · 1-ingress · vxlan0 (ingress) vni 4096 → 192.168.50.2:4789',
      'node2 · 1-ingress · vxlan0 (ingress) vni 4096',
      'node2 · 1-ingress · br0 (ingress)',
      'node2 · 1-ingress · veth1 (ingress)',
      'node2 · nginx.1 · eth2 (ingress)',
      'node2 · nginx.1 · tcp :80',
    ]);
  });

  it('draws the tree and a Graphviz graph', () => {
    const text = renderText(snap);
    expect(text).toMatch(/vxlan0 {2}vxlan {2}\(ingress\) {2}vni 4096 udp 4789 local 192\.168\.50\.1 → 192\.168\.50\.2/);
    expect(text).toMatch(/eth1 {2}veth {2}\(docker_gwbridge\) {2}172\.18\.0\.2\/16 {2}mtu 1500 ⇄ node1 · host · veth/);
    const dot = renderDot(snap);
    expect(dot).toMatch(/label="VXLAN 4096 udp 4789"/);
    expect(dot.trim().endsWith('}')).toBe(true);
    let hasDot = true;
    try {
      execFileSync('dot', ['-V'], { stdio: 'ignore' });
    } catch {
      hasDot = false;
    }
    if (hasDot) expect(() => execFileSync('dot', ['-Tsvg'], { input: dot, stdio: ['pipe', 'ignore', 'pipe'] })).not.toThrow();
  });

  it('serializes, and compares: a new device shows up in the diff', async () => {
    const back = parseSnapshot(serializeSnapshot(snap));
    expect(compareSnapshots(snap, back).same).toBe(true);
    execFileSync('ip', ['-n', 'mtlab-node1', 'link', 'add', 'mt-extra0', 'type', 'bridge']);
    const after = await collectTopology({ docker: [] });
    const d = compareSnapshots(snap, after);
    expect(d.same).toBe(false);
    expect(d.changedNetns.find((n) => n.label === 'node1 · host')?.addedDevices).toEqual(['mt-extra0']);
    execFileSync('ip', ['-n', 'mtlab-node1', 'link', 'del', 'mt-extra0']);
  });

  it('snapshots the node in well under two seconds', async () => {
    const t = Date.now();
    await collectTopology({ docker: [] });
    expect(Date.now() - t).toBeLessThan(2000);
  });
});

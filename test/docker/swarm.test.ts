// A real two-node swarm (two dockerds, each in its own network and mount namespace): the
// topology names both nodes' namespaces through /proc/<dockerd>/root/<exec-root>/netns,
// each task as Docker reports it, and the VXLAN tunnel between the nodes.
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectTopology, createResolver, type TopologySnapshot } from '../../src/topology/index.js';
import { dockerdUnavailable } from './fixture.js';
import { startSwarm, SWARM_ADDR, type Swarm } from './swarm-fixture.js';

const why = dockerdUnavailable();
if (why) console.warn(`skipping the two-node swarm test: ${why}`);

describe.skipIf(!!why)('topology of a real two-node swarm', () => {
  let swarm: Swarm;
  let snap: TopologySnapshot;
  beforeAll(async () => {
    swarm = await startSwarm();
    const [n1] = swarm.nodes;
    n1.docker('network', 'create', '-d', 'overlay', '--attachable', '--subnet', '10.0.9.0/24', 'net1');
    n1.docker('service', 'create', '--detach', '--name', 'web', '--replicas', '2', '--replicas-max-per-node', '1', '--endpoint-mode', 'dnsrr', '--network', 'net1', '--no-resolve-image', 'local/busybox', 'httpd', '-f', '-p', '80', '-h', '/www');
    const t = Date.now();
    while (Date.now() - t < 90_000) {
      if (swarm.nodes.every((n) => n.docker('ps', '-q', '--filter', 'label=com.docker.swarm.service.name=web').trim())) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    // Docker finishes wiring a new peer's overlay a moment after its task runs (the VXLAN
    // device is made on the host, then moved): wait until two snapshots agree.
    const sig = (s: TopologySnapshot): string => JSON.stringify(s.netns.map((n) => [n.inode, n.role, n.devices.map((d) => [d.name, d.network])]));
    snap = await collectTopology({ docker: swarm.nodes.map((n) => n.socket) });
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 500));
      const next = await collectTopology({ docker: swarm.nodes.map((n) => n.socket) });
      const same = sig(next) === sig(snap);
      snap = next;
      if (same) break;
    }
  }, 180_000);
  afterAll(async () => {
    await swarm?.stop();
  }, 120_000);

  it("names each node's host namespace and the namespaces under its dockerd's exec-root", () => {
    for (const n of swarm.nodes) {
      const host = snap.netns.find((x) => x.names.includes(n.netns))!;
      expect(host).toMatchObject({ node: n.name, display: 'host', role: 'host' });
      const sbox = snap.netns.find((x) => x.node === n.name && x.role === 'ingress-sbox')!;
      expect(sbox.path).toBe(`/proc/${n.pid}/root${n.execRoot}/netns/ingress_sbox`);
      expect(sbox.inode).toBe(statSync(sbox.path).ino);
    }
  });

  it('names each task as docker inspect reports it, with eth0 on net1', () => {
    const r = createResolver(snap);
    for (const n of swarm.nodes) {
      const id = n.docker('ps', '-q', '--filter', 'label=com.docker.swarm.service.name=web').trim();
      const c = JSON.parse(n.docker('inspect', id))[0];
      const ep = c.NetworkSettings.Networks.net1;
      const task = snap.netns.find((x) => x.container?.id === c.Id)!;
      expect(task.node).toBe(n.name);
      expect(task.display).toBe(`web.${c.Config.Labels['com.docker.swarm.task.name'].split('.')[1]}`);
      const dev = task.devices.find((d) => d.addresses.includes(`${ep.IPAddress}/${ep.IPPrefixLen}`))!;
      expect(r.label(task.inode, dev.ifindex)).toBe(`${n.name} · ${task.display} · ${dev.name} (net1)`);
    }
  });

  it('shows the net1 VXLAN tunnel with the VNI docker reports and the other node as remote', () => {
    swarm.nodes.forEach((n, i) => {
      const net = JSON.parse(n.docker('network', 'inspect', 'net1'))[0];
      const vni = Number(net.Options['com.docker.network.driver.overlay.vxlanid_list']);
      const ov = snap.netns.find((x) => x.node === n.name && x.role === 'overlay' && x.network === 'net1')!;
      expect(ov.display).toBe('1-net1');
      const vx = ov.devices.find((d) => d.kind === 'vxlan')!;
      expect(vx.vxlan!.vni).toBe(vni);
      expect(vx.vxlan!.remotes).toContain(SWARM_ADDR[1 - i]);
      expect(vx.vxlan!.socketNetnsInode).toBe(snap.netns.find((x) => x.names.includes(n.netns))!.inode);
    });
  });

  it('names every namespace and device of both nodes', () => {
    for (const ns of snap.netns.filter((x) => x.node === 'node1' || x.node === 'node2')) {
      expect(ns.role, `${ns.node} ${ns.names.join(',')}`).not.toBe('other');
      for (const d of ns.devices.filter((x) => x.kind !== 'loopback' && !(ns.role === 'host' && x.name === 'eth0'))) expect(d.network, `${ns.node} · ${ns.display} · ${d.name}`).toBeDefined();
    }
  });
});

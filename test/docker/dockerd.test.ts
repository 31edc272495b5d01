// The Docker view against a real dockerd started by the fixture: a user bridge network with
// a published port, then a single-node swarm with an overlay network and a service. Each
// assertion compares with what docker itself reports (network inspect, inspect).
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { collectTopology, createResolver, watchTopology, type Netns, type TopologyEvent, type TopologySnapshot } from '../../src/topology/index.js';
import { dockerdUnavailable, importBusybox, startDockerd, type Dockerd } from './fixture.js';

const why = dockerdUnavailable();
if (why) console.warn(`skipping the real-dockerd tests: ${why}`);

// Docker refuses such container names but takes them for networks: they must come out intact and run nothing.
const ODD = `mt net 'q' "dq" $(touch mt-pwned) é`;

describe.skipIf(!!why)('topology with a real dockerd', () => {
  let d: Dockerd;
  let snap: TopologySnapshot;
  let node: string;
  const inspect = (kind: 'network' | 'container', name: string): any => JSON.parse(d.docker(kind, 'inspect', name))[0];
  const byName = (s: TopologySnapshot, pred: (n: Netns) => boolean): Netns => {
    const n = s.netns.find(pred);
    if (!n) throw new Error(`no such namespace in ${s.netns.map((x) => `${x.node}/${x.display}`).join(', ')}`);
    return n;
  };

  beforeAll(async () => {
    d = await startDockerd();
    importBusybox(d);
    node = JSON.parse(d.docker('info', '--format', '{{json .Name}}'));
    d.docker('network', 'create', '--subnet', '10.88.0.0/24', ODD);
    d.docker('run', '-d', '--name', 'web', '--network', ODD, '-p', '127.0.0.1:18080:80', 'local/busybox', 'httpd', '-f', '-p', '80', '-h', '/www');
  });
  afterAll(async () => {
    await d?.stop();
  });

  describe('a bridge network with a published port', () => {
    beforeAll(async () => {
      snap = await collectTopology({ docker: [d.socket] });
    });

    it('finds the engine and its node name', () => {
      expect(snap.docker[0]).toMatchObject({ found: true, node, socket: d.socket });
      expect(snap.docker[0].dockerd?.pid).toBe(d.pid);
      expect(snap.warnings.filter((w) => w.includes('Docker was not found'))).toEqual([]);
    });

    it('names the container namespace and its eth0 on the odd network, as docker inspect says', () => {
      const c = inspect('container', 'web');
      const ep = c.NetworkSettings.Networks[ODD];
      const ns = byName(snap, (n) => n.display === 'web');
      expect(ns.role).toBe('container');
      expect(ns.node).toBe(node);
      expect(ns.inode).toBe(statSync(`/proc/${c.State.Pid}/ns/net`).ino);
      const eth0 = ns.devices.find((x) => x.name === 'eth0')!;
      expect(eth0.kind).toBe('veth');
      expect(eth0.network).toBe(ODD);
      expect(eth0.addresses).toContain(`${ep.IPAddress}/${ep.IPPrefixLen}`);
      expect(eth0.mac).toBe(ep.MacAddress);
      expect(createResolver(snap).label(ns.inode, eth0.ifindex)).toBe(`${node} · web · eth0 (${ODD})`);
      expect(() => statSync('mt-pwned')).toThrow();
    });

    it("puts the host-side veth on the network's bridge, named from docker network inspect", () => {
      const net = inspect('network', ODD);
      const host = byName(snap, (n) => n.role === 'host' && n.node === node);
      const br = host.devices.find((x) => x.name === `br-${net.Id.slice(0, 12)}`)!;
      expect(br.kind).toBe('bridge');
      expect(br.network).toBe(ODD);
      expect(br.addresses.some((a) => a.startsWith('10.88.0.') && a.endsWith('/24'))).toBe(true); // in the subnet docker network inspect reports
      expect(net.IPAM.Config[0].Subnet).toBe('10.88.0.0/24');
      const web = byName(snap, (n) => n.display === 'web');
      const port = host.devices.find((x) => x.master === br.name && x.peer?.netnsInode === web.inode)!;
      expect(port.network).toBe(ODD);
      expect(snap.docker[0].networks.find((n) => n.name === ODD)).toMatchObject({ driver: 'bridge', scope: 'local', subnets: ['10.88.0.0/24'], bridge: br.name });
    });

    it('reads the DNAT of the published port', () => {
      const c = inspect('container', 'web');
      const host = byName(snap, (n) => n.role === 'host' && n.node === node);
      expect(host.rules.find((r) => r.target === 'DNAT' && r.match.dport === '18080')).toMatchObject({ table: 'nat', chain: 'DOCKER', to: `${c.NetworkSettings.Networks[ODD].IPAddress}:80` });
    });

    it('prints the snapshot with mesh-trace topology --json', async () => {
      let out = '';
      const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s: any) => ((out += String(s)), true));
      const errSpy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
      try {
        await buildProgram().parseAsync(['node', 'mesh-trace', 'topology', '--json', '--docker', d.socket, '--no-proc']);
      } finally {
        spy.mockRestore();
        errSpy.mockRestore();
      }
      const j = JSON.parse(out) as TopologySnapshot;
      expect(j.version).toBe(1);
      expect(j.netns.find((n) => n.display === 'web')?.devices.find((x) => x.name === 'eth0')?.network).toBe(ODD);
    });
  });

  it('watches Docker events: a new container shows up as a namespace with its devices, then vanishes', async () => {
    const w = watchTopology({ docker: [d.socket], pollMs: 500 });
    const events: TopologyEvent[] = [];
    w.on('change', (e: TopologyEvent) => events.push(e));
    w.on('error', () => undefined);
    const until = async <T>(f: () => T | undefined): Promise<T> => {
      const t = Date.now();
      for (;;) {
        const v = f();
        if (v) return v;
        if (Date.now() - t > 15_000) throw new Error(`timed out; events: ${JSON.stringify(events.slice(-10))}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      await w.ready();
      d.docker('run', '-d', '--name', 'late', '--network', ODD, 'local/busybox', 'sleep', '300');
      const pid = Number(d.docker('inspect', '--format', '{{.State.Pid}}', 'late').trim());
      const inode = statSync(`/proc/${pid}/ns/net`).ino;
      await until(() => events.find((e) => e.type === 'docker' && e.kind === 'container' && e.action === 'start' && e.name === 'late'));
      await until(() => events.find((e) => e.type === 'netns-added' && e.inode === inode));
      await until(() => events.find((e) => e.type === 'device-added' && e.netnsInode === inode && e.name === 'eth0' && e.kind === 'veth'));
      const ns = await until(() => w.snapshot?.netns.find((n) => n.inode === inode && n.display === 'late'));
      expect(ns.devices.find((x) => x.name === 'eth0')?.network).toBe(ODD);
      d.docker('rm', '-f', 'late');
      await until(() => events.find((e) => e.type === 'netns-removed' && e.inode === inode));
    } finally {
      await w.close();
    }
  });

  describe('a single-node swarm with an overlay network and a service', () => {
    beforeAll(async () => {
      d.docker('swarm', 'init', '--advertise-addr', '127.0.0.1');
      d.docker('network', 'create', '-d', 'overlay', '--attachable', '--subnet', '10.0.9.0/24', 'ovnet');
      d.docker('service', 'create', '--detach', '--name', 'api', '--network', 'ovnet', '--endpoint-mode', 'dnsrr', '--no-resolve-image', 'local/busybox', 'httpd', '-f', '-p', '80', '-h', '/www');
      const t = Date.now();
      while (Date.now() - t < 60_000) {
        if (d.docker('ps', '-q', '--filter', 'label=com.docker.swarm.service.name=api').trim()) break;
        await new Promise((r) => setTimeout(r, 300));
      }
      snap = await collectTopology({ docker: [d.socket] });
    });

    it('names ingress-sbox, with eth0 on ingress and eth1 on docker_gwbridge', () => {
      // Docker's own (the lab, when it is up too, has ingress-sbox namespaces of its own)
      const sbox = byName(snap, (n) => n.role === 'ingress-sbox' && n.source === 'docker');
      expect(sbox.node).toBe(node);
      expect(sbox.names).toContain('ingress_sbox');
      const ingress = inspect('network', 'ingress');
      const ep = Object.values(ingress.Containers as Record<string, any>).find((c) => c.Name === 'ingress-endpoint')!;
      const eth0 = sbox.devices.find((x) => x.addresses.includes(ep.IPv4Address))!;
      expect(eth0.network).toBe('ingress');
      expect(createResolver(snap).label(sbox.inode, eth0.ifindex)).toBe(`${node} · ingress-sbox · ${eth0.name} (ingress)`);
      expect(sbox.devices.some((x) => x.network === 'docker_gwbridge')).toBe(true);
    });

    it('names each overlay namespace 1-<network> with its VXLAN VNI as docker network inspect says', () => {
      for (const name of ['ingress', 'ovnet']) {
        const net = inspect('network', name);
        const vni = Number(net.Options['com.docker.network.driver.overlay.vxlanid_list']);
        const ov = byName(snap, (n) => n.role === 'overlay' && n.network === name);
        expect(ov.display).toBe(`1-${name}`);
        const vx = ov.devices.find((x) => x.kind === 'vxlan')!;
        expect(vx.vxlan!.vni).toBe(vni);
        expect(vx.network).toBe(name);
        expect(ov.devices.find((x) => x.kind === 'bridge')!.ports).toContain(vx.name);
      }
    });

    it('names the service task api.1 with its endpoint on ovnet', () => {
      const id = d.docker('ps', '-q', '--filter', 'label=com.docker.swarm.service.name=api').trim();
      const c = inspect('container', id);
      const task = byName(snap, (n) => n.display === 'api.1');
      expect(task.container).toMatchObject({ service: 'api', slot: 1, name: c.Name.replace(/^\//, '') });
      expect(task.inode).toBe(statSync(`/proc/${c.State.Pid}/ns/net`).ino);
      const ep = c.NetworkSettings.Networks.ovnet;
      const dev = task.devices.find((x) => x.addresses.includes(`${ep.IPAddress}/${ep.IPPrefixLen}`))!;
      expect(dev.network).toBe('ovnet');
      // its peer sits in ovnet's overlay namespace, on br0
      const ov = byName(snap, (n) => n.role === 'overlay' && n.network === 'ovnet');
      expect(dev.peer?.netnsInode).toBe(ov.inode);
      const svc = snap.docker[0].services.find((s) => s.name === 'api')!;
      expect(svc.mode).toBe('replicated');
      expect(svc.tasks[0].name).toBe('api.1');
    });

    it('names every namespace and device Docker made', () => {
      const dockerNs = snap.netns.filter((n) => n.source === 'docker');
      expect(dockerNs.length).toBeGreaterThanOrEqual(4); // web, ingress_sbox, 1-ingress, 1-ovnet, api.1 (and lb_ on newer engines)
      for (const n of dockerNs) {
        expect(n.role, n.names.join(',')).not.toBe('other');
        for (const dev of n.devices.filter((x) => x.kind !== 'loopback')) expect(dev.network, `${n.display} ${dev.name}`).toBeDefined();
      }
    });
  });
});

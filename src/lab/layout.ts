// The lab's layout as data: the seeds' two-node swarm running a three-tier app (nginx on
// node2 published as 1080, node and redis on node1), laid out the way Docker lays it out,
// in network namespaces. Building it (lab.ts) and naming it (metadata.ts, read by the
// topology model) both come from this one description.
import { createHash } from 'node:crypto';

export const LAB_PREFIX = 'mtlab-';

export type LbMode = 'ipvs' | 'iptables';
export type LabRole = 'client' | 'host' | 'ingress-sbox' | 'overlay' | 'container';

export interface LabNamespace {
  /** the ip-netns name (always starts with LAB_PREFIX) */
  name: string;
  node: string;
  /** what the topology calls it, as Docker would: `host`, `ingress-sbox`, `1-net1`, `nginx.1` */
  display: string;
  role: LabRole;
  forwarding: boolean;
  /** for role 'overlay': the network whose bridge and VXLAN device it holds */
  network?: string;
  /** for role 'container' */
  container?: { name: string; service: string; slot: number; id: string };
}

export interface LabEnd {
  ns: string;
  dev: string;
  /** address with prefix length, e.g. 10.0.1.5/24 */
  addr?: string;
  mac?: string;
  mtu?: number;
  /** the bridge this end is a port of */
  master?: string;
  /** the network this interface belongs to (for names like `eth0 (net1)`) */
  network?: string;
}

export interface LabVeth {
  a: LabEnd;
  b: LabEnd;
}

export interface LabBridge {
  ns: string;
  dev: string;
  addr?: string;
  mtu?: number;
  network: string;
}

export interface LabVxlanRemote {
  /** the other node's underlay address */
  dst: string;
  /** endpoints behind it: static fdb (MAC → dst) and proxy-ARP entries (IP → MAC) */
  endpoints: { mac: string; ip: string }[];
}

export interface LabVxlan {
  /** the node's host namespace, where Docker creates the device so its UDP socket lives on the underlay */
  hostNs: string;
  /** the overlay namespace the device is moved into */
  ns: string;
  /** name in the host namespace at creation (Docker's vx-<vni hex>-<net id>) */
  createName: string;
  dev: string;
  vni: number;
  port: number;
  local: string;
  mtu: number;
  network: string;
  remotes: LabVxlanRemote[];
}

export interface LabRoute {
  ns: string;
  dst: string;
  via: string;
  dev: string;
}

export interface LabServer {
  ns: string;
  container: string;
  port: number;
  argv: string[];
  /** the reply a test can expect to contain */
  expect: string;
}

export interface LabNetwork {
  name: string;
  id: string;
  driver: 'overlay' | 'bridge';
  scope: 'swarm' | 'local';
  subnet: string;
  gateway: string;
  vni?: number;
  ingress?: boolean;
}

export interface LabService {
  name: string;
  id: string;
  mode: 'replicated';
  ports: { protocol: 'tcp'; published: number; target: number; mode: 'ingress' }[];
  tasks: { name: string; node: string; ns: string; ingressAddr: string }[];
}

export interface LabLayout {
  prefix: string;
  nodes: { name: string; hostNs: string; underlay: string; clientFacing: string }[];
  client: { ns: string; addrs: string[] };
  namespaces: LabNamespace[];
  veths: LabVeth[];
  bridges: LabBridge[];
  vxlans: LabVxlan[];
  routes: LabRoute[];
  /** iptables-restore input per namespace (tables nat and mangle) */
  rules: { ns: string; restore: string }[];
  /** IPVS set-up (its sysctl, then ipvsadm argv lists) when lbMode is 'ipvs' */
  ipvs: { ns: string; argv: string[] }[];
  servers: LabServer[];
  networks: LabNetwork[];
  services: LabService[];
  lbMode: LbMode;
}

/** A stable fake Docker ID (64 hex), so names like `1-<netid>` look like Docker's. */
export function fakeId(seed: string): string {
  return createHash('sha256').update(`mesh-trace lab ${seed}`).digest('hex');
}

/** Docker's MAC for an address: 02:42 followed by the IPv4 bytes. */
export function dockerMac(ip: string): string {
  return ['02', '42', ...ip.split('/')[0].split('.').map((b) => Number(b).toString(16).padStart(2, '0'))].join(':');
}

/** Docker's host-side veth name: `veth` + 7 hex characters. */
function vethName(seed: string): string {
  return `veth${fakeId(seed).slice(0, 7)}`;
}

const ip = (cidr: string): string => cidr.split('/')[0];

export const LAB_PUBLISHED_PORT = 1080;
export const LAB_FWMARK = 0x100;

export function labLayout(lbMode: LbMode): LabLayout {
  const P = LAB_PREFIX;
  const ns = (node: string, what: string): string => `${P}${node}-${what}`;
  const INGRESS = { name: 'ingress', subnet: '10.255.0.0/16', gw: '10.255.0.1', vni: 4096, mtu: 1450 };
  const NET1 = { name: 'net1', subnet: '10.0.1.0/24', gw: '10.0.1.1', vni: 4097, mtu: 1450 };
  const GWBRIDGE = { name: 'docker_gwbridge', subnet: '172.18.0.0/16', gw: '172.18.0.1' };
  const ingressId = fakeId('network ingress');
  const net1Id = fakeId('network net1');
  const gwIds: Record<string, string> = { node1: fakeId('network node1 docker_gwbridge'), node2: fakeId('network node2 docker_gwbridge') };

  const nodes = [
    { name: 'node1', hostNs: `${P}node1`, underlay: '192.168.50.1', clientFacing: '192.168.60.1' },
    { name: 'node2', hostNs: `${P}node2`, underlay: '192.168.50.2', clientFacing: '192.168.61.2' },
  ];
  const client = { ns: `${P}client`, addrs: ['192.168.60.100/24', '192.168.61.100/24'] };

  // Containers and where they sit. nginx is the task of the published service, so it also
  // has an endpoint on the ingress network (eth2), as every ingress-published task does.
  const containers = [
    { node: 'node2', service: 'nginx', slot: 1, net1: '10.0.1.5/24', gw: '172.18.0.3/16', ingress: '10.255.0.5/16', port: 80 },
    { node: 'node1', service: 'node', slot: 1, net1: '10.0.1.3/24', gw: '172.18.0.3/16', port: 3000 },
    { node: 'node1', service: 'redis', slot: 1, net1: '10.0.1.4/24', gw: '172.18.0.4/16', port: 6379 },
  ];
  const sboxIngress: Record<string, string> = { node1: '10.255.0.2/16', node2: '10.255.0.3/16' };
  const sboxGw = '172.18.0.2/16';

  const namespaces: LabNamespace[] = [{ name: client.ns, node: 'lab', display: 'client', role: 'client', forwarding: false }];
  const veths: LabVeth[] = [];
  const bridges: LabBridge[] = [];
  const vxlans: LabVxlan[] = [];
  const routes: LabRoute[] = [];
  const rules: LabLayout['rules'] = [];
  const ipvs: LabLayout['ipvs'] = [];
  const servers: LabServer[] = [];

  // Underlay: node1 ↔ node2 (VXLAN runs here), client ↔ each node.
  veths.push({
    a: { ns: nodes[0].hostNs, dev: 'eth0', addr: `${nodes[0].underlay}/24`, network: 'underlay' },
    b: { ns: nodes[1].hostNs, dev: 'eth0', addr: `${nodes[1].underlay}/24`, network: 'underlay' },
  });
  veths.push({
    a: { ns: client.ns, dev: 'eth0', addr: client.addrs[0], network: 'underlay' },
    b: { ns: nodes[0].hostNs, dev: 'eth1', addr: `${nodes[0].clientFacing}/24`, network: 'underlay' },
  });
  veths.push({
    a: { ns: client.ns, dev: 'eth1', addr: client.addrs[1], network: 'underlay' },
    b: { ns: nodes[1].hostNs, dev: 'eth1', addr: `${nodes[1].clientFacing}/24`, network: 'underlay' },
  });

  for (const node of nodes) {
    const n = node.name;
    const other = nodes.find((x) => x.name !== n)!;
    namespaces.push({ name: node.hostNs, node: n, display: 'host', role: 'host', forwarding: true });
    bridges.push({ ns: node.hostNs, dev: 'docker_gwbridge', addr: `${GWBRIDGE.gw}/16`, network: GWBRIDGE.name });

    const mine = containers.filter((c) => c.node === n);
    const theirs = containers.filter((c) => c.node !== n);

    // ingress-sbox: eth0 on the ingress overlay, eth1 on docker_gwbridge.
    const sbox = ns(n, 'ingress_sbox');
    namespaces.push({ name: sbox, node: n, display: 'ingress-sbox', role: 'ingress-sbox', forwarding: true });

    // The ingress overlay's namespace: br0, vxlan0 (VNI 4096), a veth per member.
    const ingNs = ns(n, '1-ingress');
    namespaces.push({ name: ingNs, node: n, display: '1-ingress', role: 'overlay', forwarding: false, network: INGRESS.name });
    bridges.push({ ns: ingNs, dev: 'br0', addr: `${INGRESS.gw}/16`, mtu: INGRESS.mtu, network: INGRESS.name });
    let ingPort = 0;
    veths.push({
      a: { ns: sbox, dev: 'eth0', addr: sboxIngress[n], mac: dockerMac(sboxIngress[n]), mtu: INGRESS.mtu, network: INGRESS.name },
      b: { ns: ingNs, dev: `veth${ingPort++}`, mtu: INGRESS.mtu, master: 'br0', network: INGRESS.name },
    });
    veths.push({
      a: { ns: sbox, dev: 'eth1', addr: sboxGw, mac: dockerMac(sboxGw), network: GWBRIDGE.name },
      b: { ns: node.hostNs, dev: vethName(`${n} ingress_sbox`), master: 'docker_gwbridge', network: GWBRIDGE.name },
    });
    const ingRemote = [{ ip: ip(sboxIngress[other.name]), mac: dockerMac(sboxIngress[other.name]) }];
    for (const c of theirs) if (c.ingress) ingRemote.push({ ip: ip(c.ingress), mac: dockerMac(c.ingress) });
    vxlans.push({
      hostNs: node.hostNs, ns: ingNs, createName: `vx-${INGRESS.vni.toString(16).padStart(6, '0')}-${ingressId.slice(0, 5)}`,
      dev: 'vxlan0', vni: INGRESS.vni, port: 4789, local: node.underlay, mtu: INGRESS.mtu, network: INGRESS.name,
      remotes: [{ dst: other.underlay, endpoints: ingRemote }],
    });

    // net1's namespace: br0, vxlan0 (VNI 4097).
    const netNs = ns(n, '1-net1');
    namespaces.push({ name: netNs, node: n, display: '1-net1', role: 'overlay', forwarding: false, network: NET1.name });
    bridges.push({ ns: netNs, dev: 'br0', addr: `${NET1.gw}/24`, mtu: NET1.mtu, network: NET1.name });
    vxlans.push({
      hostNs: node.hostNs, ns: netNs, createName: `vx-${NET1.vni.toString(16).padStart(6, '0')}-${net1Id.slice(0, 5)}`,
      dev: 'vxlan0', vni: NET1.vni, port: 4789, local: node.underlay, mtu: NET1.mtu, network: NET1.name,
      remotes: [{ dst: other.underlay, endpoints: theirs.map((c) => ({ ip: ip(c.net1), mac: dockerMac(c.net1) })) }],
    });
    let netPort = 0;

    for (const c of mine) {
      const cns = ns(n, c.service);
      const cname = `${c.service}.${c.slot}.${fakeId(`task ${c.service}`).slice(0, 25)}`;
      namespaces.push({
        name: cns, node: n, display: `${c.service}.${c.slot}`, role: 'container', forwarding: false,
        container: { name: cname, service: c.service, slot: c.slot, id: fakeId(`container ${c.service}`) },
      });
      veths.push({
        a: { ns: cns, dev: 'eth0', addr: c.net1, mac: dockerMac(c.net1), mtu: NET1.mtu, network: NET1.name },
        b: { ns: netNs, dev: `veth${netPort++}`, mtu: NET1.mtu, master: 'br0', network: NET1.name },
      });
      veths.push({
        a: { ns: cns, dev: 'eth1', addr: c.gw, mac: dockerMac(c.gw), network: GWBRIDGE.name },
        b: { ns: node.hostNs, dev: vethName(`${n} ${c.service}`), master: 'docker_gwbridge', network: GWBRIDGE.name },
      });
      if (c.ingress) {
        veths.push({
          a: { ns: cns, dev: 'eth2', addr: c.ingress, mac: dockerMac(c.ingress), mtu: INGRESS.mtu, network: INGRESS.name },
          b: { ns: ingNs, dev: `veth${ingPort++}`, mtu: INGRESS.mtu, master: 'br0', network: INGRESS.name },
        });
      }
      const www = `/run/mesh-trace/lab/www/${c.service}`;
      const expect = `${c.service} on ${n} (mesh-trace lab)`;
      servers.push({
        ns: cns, container: `${c.service}.${c.slot}`, port: c.port, expect,
        argv: c.service === 'redis'
          ? ['busybox', 'nc', '-ll', '-p', String(c.port), '-e', 'busybox', 'echo', `+PONG ${expect}`]
          : ['busybox', 'httpd', '-f', '-p', String(c.port), '-h', www],
      });
    }

    // The client's replies leave ingress-sbox towards docker_gwbridge's gateway (the host):
    // one route for the client's subnet only, never a default route out of the lab.
    const clientNet = n === 'node1' ? '192.168.60.0/24' : '192.168.61.0/24';
    routes.push({ ns: sbox, dst: clientNet, via: GWBRIDGE.gw, dev: 'eth1' });

    // The routing mesh as Docker programs it (see DOCKER-LAB.md, "Where Docker puts each rule").
    const port = LAB_PUBLISHED_PORT;
    const backend = ip(containers.find((c) => c.service === 'nginx')!.ingress!);
    rules.push({
      ns: node.hostNs,
      restore: [
        '*nat',
        ':DOCKER-INGRESS - [0:0]',
        '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER-INGRESS',
        '-A OUTPUT -m addrtype --dst-type LOCAL -j DOCKER-INGRESS',
        '-A POSTROUTING -o docker_gwbridge -m addrtype --src-type LOCAL -j MASQUERADE',
        `-A POSTROUTING -s ${GWBRIDGE.subnet} ! -o docker_gwbridge -j MASQUERADE`,
        `-A DOCKER-INGRESS -p tcp -m tcp --dport ${port} -j DNAT --to-destination ${ip(sboxGw)}:${port}`,
        '-A DOCKER-INGRESS -j RETURN',
        'COMMIT',
        '',
      ].join('\n'),
    });
    const mark = `0x${LAB_FWMARK.toString(16)}`;
    const sboxRules = [
      '*mangle',
      `-A PREROUTING -p tcp -m tcp --dport ${port} -j MARK --set-xmark ${mark}/0xffffffff`,
      'COMMIT',
      '*nat',
    ];
    if (lbMode === 'iptables') {
      // The IPVS fwmark service's job, done by iptables where the kernel has no ip_vs:
      // load-balance (one task) and rewrite to the target port.
      sboxRules.push(
        `-A PREROUTING -p tcp -m mark --mark ${mark} -m comment --comment "mesh-trace lab: load balancer (iptables in place of IPVS fwmark ${LAB_FWMARK})" -j DNAT --to-destination ${backend}:80`,
        `-A POSTROUTING -d ${INGRESS.subnet} -m mark --mark ${mark} -j SNAT --to-source ${ip(sboxIngress[n])}`,
      );
    } else {
      // Docker's way: the packet is local to ingress-sbox (the host DNATed it to 172.18.0.2),
      // IPVS takes it at LOCAL_IN by its fwmark and forwards it to the task.
      sboxRules.push(
        `-A PREROUTING -p tcp -m tcp --dport ${port} -j REDIRECT --to-ports 80`,
        `-A POSTROUTING -d ${INGRESS.subnet} -m ipvs --ipvs -j SNAT --to-source ${ip(sboxIngress[n])}`,
      );
      // as Docker does in ingress_sbox: IPVS connections go through conntrack, or the SNAT
      // above (-m ipvs) never applies and the task answers the client's own address, which
      // it has no route to
      ipvs.push({ ns: sbox, argv: ['sysctl', '-qw', 'net.ipv4.vs.conntrack=1'] });
      ipvs.push({ ns: sbox, argv: ['ipvsadm', '-A', '-f', String(LAB_FWMARK), '-s', 'rr'] });
      ipvs.push({ ns: sbox, argv: ['ipvsadm', '-a', '-f', String(LAB_FWMARK), '-r', `${backend}:80`, '-m'] });
    }
    sboxRules.push('COMMIT', '');
    rules.push({ ns: sbox, restore: sboxRules.join('\n') });
  }

  const networks: LabNetwork[] = [
    { name: INGRESS.name, id: ingressId, driver: 'overlay', scope: 'swarm', subnet: INGRESS.subnet, gateway: INGRESS.gw, vni: INGRESS.vni, ingress: true },
    { name: NET1.name, id: net1Id, driver: 'overlay', scope: 'swarm', subnet: NET1.subnet, gateway: NET1.gw, vni: NET1.vni },
    ...nodes.map((nd) => ({ name: GWBRIDGE.name, id: gwIds[nd.name], driver: 'bridge' as const, scope: 'local' as const, subnet: GWBRIDGE.subnet, gateway: GWBRIDGE.gw })),
  ];
  const services: LabService[] = containers.map((c) => ({
    name: c.service,
    id: fakeId(`service ${c.service}`),
    mode: 'replicated',
    ports: c.service === 'nginx' ? [{ protocol: 'tcp', published: LAB_PUBLISHED_PORT, target: 80, mode: 'ingress' }] : [],
    tasks: [{ name: `${c.service}.${c.slot}`, node: c.node, ns: ns(c.node, c.service), ingressAddr: c.ingress ? ip(c.ingress) : '' }],
  }));

  return { prefix: P, nodes, client, namespaces, veths, bridges, vxlans, routes, rules, ipvs, servers, networks, services, lbMode };
}

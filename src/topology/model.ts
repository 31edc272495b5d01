// The topology snapshot: plain JSON data (it travels inside recordings), versioned, naming
// everything a packet crosses on a node. Collected by collect.ts, named by names.ts,
// resolved by resolver.ts, drawn by render/*.ts, compared by diff.ts.
import type { NetnsSource } from './netns.js';

export const TOPOLOGY_VERSION = 1;

export type DeviceKind = 'veth' | 'bridge' | 'vxlan' | 'loopback' | 'physical' | 'macvlan' | 'ipvlan' | 'tun' | 'dummy' | 'vlan' | 'bond' | 'other';

export interface VethPeer {
  ifindex: number;
  /** the peer's namespace, when it could be told (undefined: unknown) */
  netnsInode?: number;
  /** the peer's name, once resolved */
  name?: string;
}

export interface VxlanTunnel {
  vni: number;
  port: number;
  local?: string;
  /** the default remote or multicast group, when configured */
  group?: string;
  learning: boolean;
  proxy: boolean;
  /** the namespace holding the device's UDP socket (Docker creates it on the host, then moves it) */
  socketNetnsInode?: number;
  /** forwarding entries: which MAC lives behind which remote (underlay) address */
  fdb: { mac: string; dst: string; permanent: boolean }[];
  /** the distinct remote underlay addresses */
  remotes: string[];
}

export interface Device {
  ifindex: number;
  name: string;
  kind: DeviceKind;
  /** the kernel's own kind string (`veth`, `bridge`, `vxlan`, `tun`, …) */
  rawKind?: string;
  mac?: string;
  mtu: number;
  /** operational state: UP, DOWN, UNKNOWN, LOWERLAYERDOWN */
  state: string;
  up: boolean;
  /** the bridge this device is a port of */
  master?: string;
  /** a bridge's ports, by name */
  ports?: string[];
  peer?: VethPeer;
  vxlan?: VxlanTunnel;
  /** IPv4/IPv6 addresses with prefix length */
  addresses: string[];
  /** the Docker (or lab) network this interface belongs to */
  network?: string;
}

export interface Route {
  dst: string;
  gateway?: string;
  dev?: string;
  table?: string;
  protocol?: string;
  scope?: string;
  type?: string;
  prefsrc?: string;
}

export type NatTarget = 'DNAT' | 'SNAT' | 'REDIRECT' | 'MASQUERADE' | 'MARK' | 'RETURN' | 'ACCEPT' | 'DROP' | 'JUMP' | 'OTHER';

export interface RuleMatch {
  protocol?: string;
  src?: string;
  dst?: string;
  inIface?: string;
  outIface?: string;
  dport?: string;
  sport?: string;
  /** -m mark --mark VALUE[/MASK] */
  mark?: string;
  /** -m ipvs --ipvs: the packet was handled by IPVS */
  ipvs?: boolean;
  /** -m addrtype --dst-type / --src-type */
  dstType?: string;
  srcType?: string;
  comment?: string;
  /** matches on the options above that were negated with `!` */
  negated?: string[];
}

/** A NAT or mangle rule (iptables), the unit of "a rule the packet crosses". */
export interface NatRule {
  table: 'nat' | 'mangle';
  chain: string;
  target: NatTarget;
  /** the raw -j argument (e.g. DOCKER-INGRESS for a jump) */
  jump: string;
  match: RuleMatch;
  /** DNAT --to-destination, SNAT --to-source */
  to?: string;
  /** REDIRECT/MASQUERADE --to-ports */
  toPorts?: string;
  /** MARK --set-xmark / --set-mark */
  setMark?: string;
  /** position within its chain, from 1 */
  index: number;
  /** the rule as iptables-save prints it */
  raw: string;
}

export interface IpvsRealServer {
  address: string;
  port: number;
  forward: string; // Masq, Route, Tunnel
  weight: number;
  activeConns: number;
  inactiveConns: number;
}

export interface IpvsService {
  protocol: 'TCP' | 'UDP' | 'SCTP' | 'FWM';
  address?: string;
  port?: number;
  fwmark?: number;
  scheduler: string;
  realServers: IpvsRealServer[];
}

export type NetnsRole = 'host' | 'container' | 'ingress-sbox' | 'overlay' | 'lb' | 'client' | 'other';

export interface Netns {
  inode: number;
  path: string;
  names: string[];
  source: NetnsSource;
  /** the node this namespace belongs to (Docker's node name, the lab's node, or the hostname) */
  node: string;
  /** what to call it: `host`, `ingress-sbox`, `1-net1`, `nginx.1`, … */
  display: string;
  role: NetnsRole;
  /** for role 'overlay' and 'lb': the network */
  network?: string;
  container?: { id?: string; name: string; service?: string; task?: string; slot?: number; image?: string };
  devices: Device[];
  routes: Route[];
  rules: NatRule[];
  /** undefined where the kernel has no ip_vs */
  ipvs?: IpvsService[];
  /** what could not be read in this namespace */
  errors: string[];
}

export interface DockerNetwork {
  id: string;
  name: string;
  driver: string;
  scope: string;
  subnets: string[];
  vni?: number;
  ingress?: boolean;
  /** the bridge device in the host namespace (bridge driver) */
  bridge?: string;
}

export interface DockerEndpoint {
  network: string;
  ip?: string;
  mac?: string;
}

export interface DockerContainer {
  id: string;
  name: string;
  service?: string;
  task?: string;
  slot?: number;
  image?: string;
  sandboxKey?: string;
  netnsInode?: number;
  endpoints: DockerEndpoint[];
  ports: { private: number; public?: number; protocol: string; hostIp?: string }[];
}

export interface DockerService {
  id: string;
  name: string;
  mode: string;
  ports: { protocol: string; published?: number; target: number; mode: string }[];
  vips: { network: string; addr: string }[];
  tasks: { name: string; node?: string; state?: string; containerId?: string; addrs: { network: string; addr: string }[] }[];
}

/** One Docker engine's view (or why there is none). */
export interface DockerView {
  socket: string;
  found: boolean;
  /** the dockerd process behind the socket, when it could be found: its exec-root holds the
   * sandbox files, and its network namespace is its node's host namespace */
  dockerd?: { pid: number; execRoot: string; netnsInode?: number };
  error?: string;
  node?: string;
  nodeId?: string;
  swarm?: boolean;
  version?: string;
  networks: DockerNetwork[];
  containers: DockerContainer[];
  services: DockerService[];
}

export interface TopologySnapshot {
  version: typeof TOPOLOGY_VERSION;
  takenAt: string;
  /** this machine's hostname */
  host: string;
  /** the nodes seen (one, or the lab's two, or a swarm of dockerds in namespaces) */
  nodes: string[];
  netns: Netns[];
  docker: DockerView[];
  lab?: { lbMode: string; lbReason: string };
  /** whether the kernel has IPVS */
  ipvs: boolean;
  warnings: string[];
}

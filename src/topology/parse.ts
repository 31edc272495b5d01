// Pure parsers for the structured output of iproute2 (`-json`), iptables-save and
// /proc/net/ip_vs. Nothing here runs a program, so every line is unit-tested.
import type { Device, DeviceKind, IpvsService, NatRule, NatTarget, Route, RuleMatch } from './model.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

const knownKinds = new Set<DeviceKind>(['veth', 'bridge', 'vxlan', 'macvlan', 'ipvlan', 'tun', 'dummy', 'vlan', 'bond']);

export function deviceKind(l: Json): { kind: DeviceKind; rawKind?: string } {
  const raw: string | undefined = l.linkinfo?.info_kind;
  if (raw) return { kind: knownKinds.has(raw as DeviceKind) ? (raw as DeviceKind) : 'other', rawKind: raw };
  if (l.link_type === 'loopback') return { kind: 'loopback' };
  if (l.link_type === 'ether') return { kind: 'physical' };
  return { kind: 'other', rawKind: l.link_type };
}

/** Devices from `ip -json -details addr show`, plus the raw peer/link hints the collector resolves. */
export interface ParsedDevice extends Device {
  /** iproute2's link_netnsid: the peer's (veth) or socket's (vxlan) namespace id, as seen from here */
  linkNetnsId?: number;
  /** iproute2's link_index: the peer's ifindex (veth) */
  linkIndex?: number;
}

export function parseIpAddr(json: string): ParsedDevice[] {
  const arr: Json[] = json.trim() ? JSON.parse(json) : [];
  const devs: ParsedDevice[] = arr.map((l) => {
    const { kind, rawKind } = deviceKind(l);
    const d: ParsedDevice = {
      ifindex: l.ifindex,
      name: l.ifname,
      kind,
      ...(rawKind ? { rawKind } : {}),
      ...(l.address ? { mac: l.address } : {}),
      mtu: l.mtu,
      state: l.operstate ?? 'UNKNOWN',
      up: Array.isArray(l.flags) && l.flags.includes('UP'),
      ...(l.master ? { master: l.master } : {}),
      addresses: (l.addr_info ?? []).filter((a: Json) => a.local).map((a: Json) => `${a.local}/${a.prefixlen}`),
    };
    if (typeof l.link_netnsid === 'number') d.linkNetnsId = l.link_netnsid;
    if (typeof l.link_index === 'number') d.linkIndex = l.link_index;
    if (kind === 'veth') {
      if (typeof l.link_index === 'number') d.peer = { ifindex: l.link_index };
      else if (typeof l.link === 'string') d.peer = { ifindex: -1, name: l.link };
    }
    if (kind === 'vxlan') {
      const i = l.linkinfo?.info_data ?? {};
      d.vxlan = {
        vni: i.id,
        port: i.port ?? 4789,
        ...(i.local ? { local: i.local } : {}),
        ...(i.group || i.remote ? { group: i.group ?? i.remote } : {}),
        learning: i.learning !== false,
        proxy: i.proxy === true,
        fdb: [],
        remotes: [],
      };
    }
    return d;
  });
  // Same-namespace veth peers are named, not indexed: resolve them here.
  for (const d of devs) {
    if (d.peer && d.peer.ifindex === -1) {
      const p = devs.find((x) => x.name === d.peer!.name);
      if (p) d.peer.ifindex = p.ifindex;
    }
  }
  for (const b of devs.filter((x) => x.kind === 'bridge')) b.ports = devs.filter((x) => x.master === b.name).map((x) => x.name);
  return devs;
}

/** Routes from `ip -json route show table all`, without the kernel's local/broadcast entries. */
export function parseIpRoute(json: string): Route[] {
  const arr: Json[] = json.trim() ? JSON.parse(json) : [];
  return arr
    .filter((r) => r.table !== 'local' && r.type !== 'local' && r.type !== 'broadcast' && r.type !== 'multicast')
    .map((r) => ({
      dst: r.dst,
      ...(r.gateway ? { gateway: r.gateway } : {}),
      ...(r.dev ? { dev: r.dev } : {}),
      ...(r.table && r.table !== 'main' ? { table: String(r.table) } : {}),
      ...(r.protocol ? { protocol: r.protocol } : {}),
      ...(r.scope ? { scope: r.scope } : {}),
      ...(r.type && r.type !== 'unicast' ? { type: r.type } : {}),
      ...(r.prefsrc ? { prefsrc: r.prefsrc } : {}),
    }));
}

/** VXLAN forwarding entries from `bridge -json fdb show`, by device name. */
export function parseFdb(json: string): Map<string, { mac: string; dst: string; permanent: boolean }[]> {
  const arr: Json[] = json.trim() ? JSON.parse(json) : [];
  const out = new Map<string, { mac: string; dst: string; permanent: boolean }[]>();
  for (const f of arr) {
    if (!f.dst || !f.ifname) continue;
    const l = out.get(f.ifname) ?? [];
    l.push({ mac: f.mac, dst: f.dst, permanent: f.state === 'permanent' || (Array.isArray(f.flags) && f.flags.includes('permanent')) });
    out.set(f.ifname, l);
  }
  return out;
}

/** Splits an iptables-save line into words, honouring "double quotes" and \escapes. */
export function splitWords(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '\\' && i + 1 < line.length) cur += line[++i];
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') {
      quoted = true;
      inWord = true;
    } else if (c === ' ' || c === '\t') {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

const targets: Record<string, NatTarget> = {
  DNAT: 'DNAT',
  SNAT: 'SNAT',
  REDIRECT: 'REDIRECT',
  MASQUERADE: 'MASQUERADE',
  MARK: 'MARK',
  RETURN: 'RETURN',
  ACCEPT: 'ACCEPT',
  DROP: 'DROP',
};

/** NAT and mangle rules from `iptables-save` (all tables in one dump; others are skipped). */
export function parseIptablesSave(text: string): NatRule[] {
  const rules: NatRule[] = [];
  let table = '';
  const counts = new Map<string, number>();
  const chains = new Set<string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) {
      table = line.slice(1).trim();
      chains.clear();
      continue;
    }
    if (table !== 'nat' && table !== 'mangle') continue;
    if (line.startsWith(':')) {
      chains.add(line.slice(1).split(' ')[0]);
      continue;
    }
    if (!line.startsWith('-A ')) continue;
    const w = splitWords(line);
    const chain = w[1];
    const match: RuleMatch = {};
    const negated: string[] = [];
    let jump = '';
    let to: string | undefined;
    let toPorts: string | undefined;
    let setMark: string | undefined;
    let neg = false;
    for (let i = 2; i < w.length; i++) {
      const o = w[i];
      const v = w[i + 1];
      const set = (k: keyof RuleMatch, val: string | boolean): void => {
        (match as Record<string, unknown>)[k] = val;
        if (neg) negated.push(k);
        neg = false;
        if (typeof val === 'string') i++;
      };
      switch (o) {
        case '!':
          neg = true;
          break;
        case '-p':
        case '--protocol':
          set('protocol', v);
          break;
        case '-s':
        case '--source':
          set('src', v);
          break;
        case '-d':
        case '--destination':
          set('dst', v);
          break;
        case '-i':
        case '--in-interface':
          set('inIface', v);
          break;
        case '-o':
        case '--out-interface':
          set('outIface', v);
          break;
        case '--dport':
        case '--dports':
        case '--destination-port':
          set('dport', v);
          break;
        case '--sport':
        case '--sports':
        case '--source-port':
          set('sport', v);
          break;
        case '--mark':
          set('mark', v);
          break;
        case '--ipvs':
          set('ipvs', true);
          break;
        case '--dst-type':
          set('dstType', v);
          break;
        case '--src-type':
          set('srcType', v);
          break;
        case '--comment':
          set('comment', v);
          break;
        case '-m':
        case '--match':
          i++;
          break;
        case '-j':
        case '--jump':
        case '-g':
        case '--goto':
          jump = v;
          i++;
          break;
        case '--to-destination':
        case '--to-source':
          to = v;
          i++;
          break;
        case '--to-ports':
          toPorts = v;
          i++;
          break;
        case '--set-xmark':
        case '--set-mark':
        case '--or-mark':
        case '--and-mark':
          setMark = v;
          i++;
          break;
        default:
          // an option we do not model: skip its value when it has one
          if (o.startsWith('-') && v !== undefined && !v.startsWith('-')) i++;
          neg = false;
      }
    }
    if (negated.length) match.negated = negated;
    const key = `${table}/${chain}`;
    const index = (counts.get(key) ?? 0) + 1;
    counts.set(key, index);
    rules.push({
      table,
      chain,
      target: targets[jump] ?? (jump ? 'JUMP' : 'OTHER'),
      jump,
      match,
      ...(to ? { to } : {}),
      ...(toPorts ? { toPorts } : {}),
      ...(setMark ? { setMark } : {}),
      index,
      raw: line,
    });
  }
  return rules;
}

function hexAddr(h: string): string {
  if (h.length === 8) return [0, 2, 4, 6].map((i) => parseInt(h.slice(i, i + 2), 16)).join('.');
  // IPv6: eight groups of four hex digits
  return (h.match(/.{4}/g) ?? []).map((g) => g.replace(/^0+(?=.)/, '')).join(':');
}

/** IPVS services and real servers from /proc/net/ip_vs (hex addresses and ports). */
export function parseProcIpVs(text: string): IpvsService[] {
  const out: IpvsService[] = [];
  let cur: IpvsService | undefined;
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('IP Virtual') || t.startsWith('Prot') || t.startsWith('-> RemoteAddress')) continue;
    const w = t.split(/\s+/);
    if (w[0] === '->') {
      if (!cur) continue;
      const [addr, port] = w[1].split(':');
      cur.realServers.push({
        address: hexAddr(addr),
        port: parseInt(port, 16),
        forward: w[2],
        weight: Number(w[3]),
        activeConns: Number(w[4]),
        inactiveConns: Number(w[5]),
      });
      continue;
    }
    if (w[0] === 'FWM') {
      cur = { protocol: 'FWM', fwmark: parseInt(w[1], 16), scheduler: w[2], realServers: [] };
    } else if (w[0] === 'TCP' || w[0] === 'UDP' || w[0] === 'SCTP') {
      const idx = w[1].lastIndexOf(':');
      cur = { protocol: w[0], address: hexAddr(w[1].slice(0, idx)), port: parseInt(w[1].slice(idx + 1), 16), scheduler: w[2], realServers: [] };
    } else continue;
    out.push(cur);
  }
  return out;
}

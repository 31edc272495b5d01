// Synthetic hop events for the correlator's unit tests: one packet walked through named
// places, each crossing emitting the events the probes would (tc, tracepoints, netfilter).
import type { PacketEvent, PacketHeaders } from '../../../src/events/decode.js';
import { Hook, hookName } from '../../../src/events/hooks.js';
import type { Namer } from '../../../src/correlate/namer.js';
import type { Netns, NatRule } from '../../../src/topology/model.js';

export interface Place {
  node: string;
  netns: string;
  inode: number;
  device: string;
  ifindex: number;
  kind?: 'veth' | 'bridge' | 'vxlan' | 'physical';
}

export function headers(src: string, dst: string, o: Partial<PacketHeaders> = {}): PacketHeaders {
  const [saddr, sport] = src.split(':');
  const [daddr, dport] = dst.split(':');
  return {
    family: 4,
    saddr,
    daddr,
    proto: 6,
    l4: true,
    sport: Number(sport ?? 0),
    dport: Number(dport ?? 0),
    tcpFlags: 0x02,
    tcpSeq: 1000,
    tcpAck: 0,
    ipId: 1,
    ipLen: 60,
    ttl: 64,
    ...o,
  };
}

const NF = { PRE: 0, IN: 1, OUT: 3, POST: 4 } as const;

/** Walks one skb: every call adds the events of one crossing and moves the clock on. */
export class Walk {
  readonly events: PacketEvent[] = [];
  h: PacketHeaders;
  mark = 0;
  vni?: number;
  outer?: PacketHeaders;

  /** the skb address, hex as the kernel's are (a name like "q1" is spelt in hex) */
  readonly skb: string;

  constructor(
    name: string,
    public t: number,
    h: PacketHeaders,
    readonly step = 1000,
  ) {
    this.skb = /^[0-9a-f]{1,16}$/i.test(name) ? name : Buffer.from(name).toString('hex').slice(0, 16);
    this.h = { ...h };
  }

  private ev(hook: number, p: Place | undefined, extra: Partial<PacketEvent> = {}): PacketEvent {
    this.t += this.step;
    const encap = this.vni !== undefined && this.outer;
    return {
      hook,
      hookName: hookName[hook],
      dir: 'none',
      cpu: 0,
      tsNs: this.t,
      skb: this.skb,
      netns: p?.inode ?? 0,
      ifindex: p?.ifindex ?? 0,
      len: this.h.ipLen,
      mark: this.mark,
      dropReason: 0,
      aux: 0,
      outer: encap ? { ...this.outer! } : { ...this.h },
      ...(encap ? { vni: this.vni, inner: { ...this.h } } : {}),
      ...extra,
    };
  }

  in(p: Place): this {
    this.events.push(this.ev(Hook.DEV_RECV, p, { dir: 'ingress' }), this.ev(Hook.TC_INGRESS, p, { dir: 'ingress' }));
    return this;
  }
  out(p: Place): this {
    this.events.push(this.ev(Hook.TC_EGRESS, p, { dir: 'egress' }), this.ev(Hook.DEV_XMIT, p, { dir: 'egress' }));
    return this;
  }
  /** a netfilter hook pair; `rewrite` changes the packet between before and after */
  nf(p: Place, hook: keyof typeof NF, rewrite?: (w: this) => void): this {
    const hooknum = NF[hook];
    const dir = hooknum <= 1 ? 'ingress' : 'egress';
    this.events.push(this.ev(Hook.NF, p, { dir, aux: (0 << 16) | (2 << 8) | hooknum }));
    rewrite?.(this);
    this.events.push(this.ev(Hook.NF, p, { dir, aux: (1 << 16) | (2 << 8) | hooknum }));
    return this;
  }
  dnat(to: string): void {
    const [a, port] = to.split(':');
    this.h = { ...this.h, daddr: a, dport: Number(port ?? this.h.dport) };
  }
  snat(to: string): void {
    const [a, port] = to.split(':');
    this.h = { ...this.h, saddr: a, sport: Number(port ?? this.h.sport) };
  }
  encap(vni: number, outer: PacketHeaders): this {
    this.vni = vni;
    this.outer = outer;
    return this;
  }
  decap(): this {
    this.vni = undefined;
    this.outer = undefined;
    return this;
  }
  consume(): this {
    this.events.push(this.ev(Hook.CONSUME, undefined, { outer: undefined, inner: undefined, vni: undefined, len: 0 }));
    return this;
  }
  drop(p: Place | undefined, reason: number): this {
    this.events.push(this.ev(Hook.DROP, p, { dropReason: reason }));
    return this;
  }
}

/** a namer over a handful of places and their namespaces' rules */
export function placesNamer(places: Place[], rules: Record<number, NatRule[]> = {}, addresses: Record<number, string[]> = {}): Namer {
  const byKey = new Map(places.map((p) => [`${p.inode}:${p.ifindex}`, p]));
  const reasons: Record<number, string> = { 2: 'NOT_SPECIFIED', 6: 'NETFILTER_DROP', 17: 'QUEUE_PURGE' };
  return {
    device: (ns, ifindex) => {
      const p = byKey.get(`${ns}:${ifindex}`);
      if (!p) return undefined;
      return { node: p.node, netns: p.netns, netnsInode: p.inode, device: p.device, ifindex: p.ifindex, kind: p.kind ?? 'veth', label: `${p.node} · ${p.netns} · ${p.device}` };
    },
    netns: (inode) => {
      const p = places.find((x) => x.inode === inode);
      if (!p) return undefined;
      return {
        inode,
        path: '',
        names: [],
        source: 'netns',
        node: p.node,
        display: p.netns,
        role: 'other',
        devices: [{ ifindex: 1, name: 'eth0', kind: 'veth', mtu: 1500, state: 'UP', up: true, addresses: addresses[inode] ?? [] }],
        routes: [],
        rules: rules[inode] ?? [],
        errors: [],
      } as Netns;
    },
    dropReason: (n) => reasons[n] ?? `reason ${n}`,
  };
}

export function rule(chain: string, target: NatRule['target'], o: Partial<NatRule> = {}): NatRule {
  return { table: target === 'MARK' ? 'mangle' : 'nat', chain, target, jump: target, match: {}, index: 1, raw: `-A ${chain} -j ${target}`, ...o };
}

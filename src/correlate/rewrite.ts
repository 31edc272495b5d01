// Naming a header change by what made it: the same "destination changed" is a DNAT on the
// way in and conntrack undoing a SNAT on the way back; a destination that is the
// namespace's own address is a REDIRECT; a change IPVS made is the load balancer's. The
// rule is looked up in the namespace's snapshot so the user sees which line did it.
import type { Netns, NatRule } from '../topology/model.js';
import { ruleText } from '../topology/service.js';
import type { Change, ChangeKind } from './model.js';
import type { Direction } from './journey.js';
import { splitEndpoint } from './tuple.js';

export interface RawChange {
  field: 'dst' | 'src' | 'mark';
  from: string;
  to: string;
  /** the mark the packet carried when the change was made (IPVS fwmark services) */
  mark: number;
}

const hostOf = (ep: string): string => splitEndpoint(ep).addr;
const portOf = (ep: string): string | undefined => splitEndpoint(ep).port;

/** each namespace's own addresses, gathered once per snapshot's Netns (a DNAT is checked
 * against them for every flow) */
const ownAddresses = new WeakMap<Netns, Set<string>>();

function ownAddress(ns: Netns | undefined, addr: string): boolean {
  if (!ns) return false;
  let own = ownAddresses.get(ns);
  if (!own) {
    own = new Set(ns.devices.flatMap((d) => d.addresses.map((a) => a.split('/')[0])));
    ownAddresses.set(ns, own);
  }
  return own.has(addr);
}

function toMatches(to: string | undefined, ep: string): boolean {
  if (!to) return false;
  // --to-destination 172.18.0.2:1080, 10.0.0.5, or a range 10.0.0.5-10.0.0.9
  const [addr, port] = to.includes(':') && !to.includes('[') ? to.split(':') : [to, undefined];
  if (addr.split('-')[0] !== hostOf(ep)) return false;
  return !port || port.split('-')[0] === portOf(ep);
}

function markValue(spec: string | undefined): number | undefined {
  if (!spec) return undefined;
  const v = Number(spec.split('/')[0]);
  return Number.isFinite(v) ? v : undefined;
}

function findRule(ns: Netns | undefined, pred: (r: NatRule) => boolean): string | undefined {
  const r = ns?.rules.find(pred);
  return r ? ruleText(r) : undefined;
}

export function nameChange(c: RawChange, dir: Direction, ns: Netns | undefined): Change {
  if (c.field === 'mark') {
    const value = Number(c.to);
    const rule = findRule(ns, (r) => r.target === 'MARK' && markValue(r.setMark) === value);
    return { kind: 'MARK', field: 'mark', from: c.from, to: `0x${value.toString(16)}`, ...(rule ? { rule } : {}) };
  }
  const base = { field: c.field, from: c.from, to: c.to };
  if (dir === 'reply') return { kind: c.field === 'dst' ? 'un-SNAT' : 'un-DNAT', ...base };
  if (c.field === 'dst') {
    const svc = ns?.ipvs?.find(
      (s) => (s.fwmark !== undefined && s.fwmark === c.mark) || (s.address !== undefined && `${s.address}:${s.port}` === c.from),
    );
    if (svc && svc.realServers.some((r) => r.address === hostOf(c.to))) {
      const what = svc.fwmark !== undefined ? `FWM ${svc.fwmark}` : `${svc.protocol} ${svc.address}:${svc.port}`;
      return { kind: 'IPVS', ...base, rule: `ipvs ${what} ${svc.scheduler}` };
    }
    let kind: ChangeKind = 'DNAT';
    let rule = findRule(ns, (r) => r.target === 'DNAT' && toMatches(r.to, c.to));
    if (!rule && ownAddress(ns, hostOf(c.to))) {
      kind = 'REDIRECT';
      rule = findRule(ns, (r) => r.target === 'REDIRECT' && (!r.toPorts || r.toPorts.split('-')[0] === portOf(c.to)));
    }
    return { kind, ...base, ...(rule ? { rule } : {}) };
  }
  const snat = findRule(ns, (r) => r.target === 'SNAT' && toMatches(r.to, c.to));
  if (snat) return { kind: 'SNAT', ...base, rule: snat };
  const masq = findRule(ns, (r) => r.target === 'MASQUERADE');
  return masq ? { kind: 'MASQUERADE', ...base, rule: masq } : { kind: 'SNAT', ...base };
}

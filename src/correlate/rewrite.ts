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

function markValue(spec: string | undefined): number | undefined {
  if (!spec) return undefined;
  const v = Number(spec.split('/')[0]);
  return Number.isFinite(v) ? v : undefined;
}

/** A rule as a change is matched against it: what it rewrites to, read once per snapshot's
 * namespace, and its text printed once (every flow through a NAT names its rules). */
interface RuleMatch {
  rule: NatRule;
  /** --to-destination/--to-source 172.18.0.2:1080, 10.0.0.5, or a range 10.0.0.5-10.0.0.9:
   * the first address, and the first port when one is given */
  toAddr?: string;
  toPort?: string;
  /** --set-mark's value */
  mark?: number;
  /** --to-ports' first port */
  redirectPort?: string;
  text?: string;
}

const ruleMatches = new WeakMap<Netns, RuleMatch[]>();

function matchesOf(ns: Netns): RuleMatch[] {
  let out = ruleMatches.get(ns);
  if (!out) {
    out = ns.rules.map((rule) => {
      const m: RuleMatch = { rule, mark: markValue(rule.setMark), redirectPort: rule.toPorts ? rule.toPorts.split('-')[0] : undefined };
      const to = rule.to;
      if (to) {
        const [addr, port] = to.includes(':') && !to.includes('[') ? to.split(':') : [to, undefined];
        m.toAddr = addr.split('-')[0];
        m.toPort = port ? port.split('-')[0] : undefined;
      }
      return m;
    });
    ruleMatches.set(ns, out);
  }
  return out;
}

/** whether the rule rewrites to endpoint host[:port] */
function toMatches(m: RuleMatch, host: string, port: string | undefined): boolean {
  return m.toAddr === host && (m.toPort === undefined || m.toPort === port);
}

function findRule(ns: Netns | undefined, pred: (m: RuleMatch) => boolean): string | undefined {
  if (!ns) return undefined;
  const m = matchesOf(ns).find(pred);
  return m ? (m.text ??= ruleText(m.rule)) : undefined;
}

export function nameChange(c: RawChange, dir: Direction, ns: Netns | undefined): Change {
  if (c.field === 'mark') {
    const value = Number(c.to);
    const rule = findRule(ns, (m) => m.rule.target === 'MARK' && m.mark === value);
    return { kind: 'MARK', field: 'mark', from: c.from, to: `0x${value.toString(16)}`, ...(rule ? { rule } : {}) };
  }
  const base = { field: c.field, from: c.from, to: c.to };
  if (dir === 'reply') return { kind: c.field === 'dst' ? 'un-SNAT' : 'un-DNAT', ...base };
  const { addr, port } = splitEndpoint(c.to);
  if (c.field === 'dst') {
    const svc = ns?.ipvs?.find(
      (s) => (s.fwmark !== undefined && s.fwmark === c.mark) || (s.address !== undefined && `${s.address}:${s.port}` === c.from),
    );
    if (svc && svc.realServers.some((r) => r.address === addr)) {
      const what = svc.fwmark !== undefined ? `FWM ${svc.fwmark}` : `${svc.protocol} ${svc.address}:${svc.port}`;
      return { kind: 'IPVS', ...base, rule: `ipvs ${what} ${svc.scheduler}` };
    }
    let kind: ChangeKind = 'DNAT';
    let rule = findRule(ns, (m) => m.rule.target === 'DNAT' && toMatches(m, addr, port));
    if (!rule && ownAddress(ns, addr)) {
      kind = 'REDIRECT';
      rule = findRule(ns, (m) => m.rule.target === 'REDIRECT' && (m.redirectPort === undefined || m.redirectPort === port));
    }
    return { kind, ...base, ...(rule ? { rule } : {}) };
  }
  const snat = findRule(ns, (m) => m.rule.target === 'SNAT' && toMatches(m, addr, port));
  if (snat) return { kind: 'SNAT', ...base, rule: snat };
  const masq = findRule(ns, (m) => m.rule.target === 'MASQUERADE');
  return masq ? { kind: 'MASQUERADE', ...base, rule: masq } : { kind: 'SNAT', ...base };
}

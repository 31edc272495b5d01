// --container, --service and --netns for flows. They cannot be in-kernel filters: a flow to
// a container crosses the host, ingress-sbox and the overlay before it reaches the
// container's namespace, and the path is what the user asked to see. So the kernel filter
// stays on port/host/proto and a flow is kept when any of its hops is in one of the chosen
// namespaces or any of its tuples names one of the chosen addresses or published ports.
import { MeshTraceError } from '../errors.js';
import type { Netns, TopologySnapshot } from '../topology/model.js';
import type { FlowRecord } from './model.js';
import { splitEndpoint } from './tuple.js';

export interface FlowFilterSpec {
  container?: string;
  service?: string;
  netns?: string[];
}

interface Wanted {
  inodes: Set<number>;
  addrs: Set<string>;
  ports: Set<string>;
}

const addrsOf = (ns: Netns): string[] => ns.devices.flatMap((d) => d.addresses.map((a) => a.split('/')[0]));

function netnsMatches(ns: Netns, name: string): boolean {
  return ns.display === name || `${ns.node}/${ns.display}` === name || ns.names.includes(name) || String(ns.inode) === name;
}

function containerMatches(ns: Netns, name: string): boolean {
  const c = ns.container;
  if (!c) return false;
  return c.name === name || c.task === name || (name.length >= 4 && !!c.id?.startsWith(name)) || ns.display === name;
}

export function wantedFor(spec: FlowFilterSpec, snap: TopologySnapshot): Wanted | undefined {
  if (!spec.container && !spec.service && !spec.netns?.length) return undefined;
  const w: Wanted = { inodes: new Set(), addrs: new Set(), ports: new Set() };
  const add = (ns: Netns, withAddrs: boolean) => {
    w.inodes.add(ns.inode);
    if (withAddrs) for (const a of addrsOf(ns)) w.addrs.add(a);
  };
  if (spec.container) {
    const found = snap.netns.filter((ns) => containerMatches(ns, spec.container!));
    if (!found.length) {
      throw new MeshTraceError('NOT_FOUND', `No container named "${spec.container}" is running here.`, { hint: 'Run `docker ps` or `mesh-trace topology` to see the names.' });
    }
    for (const ns of found) add(ns, true);
  }
  if (spec.service) {
    const tasks = snap.netns.filter((ns) => ns.container?.service === spec.service);
    const services = snap.docker.flatMap((d) => d.services.filter((s) => s.name === spec.service));
    if (!tasks.length && !services.length) {
      throw new MeshTraceError('NOT_FOUND', `No service named "${spec.service}" is known here.`, { hint: 'Run `docker service ls` or `mesh-trace topology` to see the names.' });
    }
    for (const ns of tasks) add(ns, true);
    for (const s of services) {
      for (const p of s.ports) if (p.published) w.ports.add(String(p.published));
      for (const v of s.vips) w.addrs.add(v.addr.split('/')[0]);
      for (const t of s.tasks) for (const a of t.addrs) w.addrs.add(a.addr.split('/')[0]);
    }
  }
  for (const name of spec.netns ?? []) {
    const found = snap.netns.filter((ns) => netnsMatches(ns, name));
    if (!found.length) throw new MeshTraceError('NOT_FOUND', `No network namespace is named "${name}".`, { hint: 'Run `mesh-trace topology` to see the names.' });
    for (const ns of found) add(ns, false);
  }
  return w;
}

/** a predicate over flow records, or undefined when no such filter was asked for */
export function flowFilter(spec: FlowFilterSpec, snap: TopologySnapshot): ((f: FlowRecord) => boolean) | undefined {
  const w = wantedFor(spec, snap);
  if (!w) return undefined;
  return (f) => {
    for (const p of [f.forward, f.reply]) for (const h of p?.hops ?? []) if (w.inodes.has(h.netns_inode)) return true;
    for (const t of f.tuples) {
      const [, src, , dst] = t.split(' ');
      const s = splitEndpoint(src);
      const d = splitEndpoint(dst);
      if (w.addrs.has(s.addr) || w.addrs.has(d.addr) || (d.port && w.ports.has(d.port))) return true;
    }
    return false;
  };
}

/** --container, --service and --netns over built records, resolved against the first
 * topology snapshot a source gives: where records are built (the replay's thread, or a
 * record thread) each holds one */
export class FlowGate {
  /** whether any of the filters was given */
  readonly wanted: boolean;
  private accept: ((f: FlowRecord) => boolean) | undefined;

  constructor(private readonly spec: FlowFilterSpec = {}) {
    this.wanted = !!(spec.container || spec.service || spec.netns?.length);
  }

  /** a snapshot came: the first one resolves the filters (a name it lacks throws) */
  topology(snap: TopologySnapshot): void {
    if (!this.accept && this.wanted) this.accept = flowFilter(this.spec, snap);
  }

  /** whether a record passes; throws when filters were given and no snapshot came */
  accepts(f: FlowRecord): boolean {
    if (!this.wanted) return true;
    if (!this.accept) {
      throw new MeshTraceError('BAD_INPUT', 'There is no topology to resolve --container, --service or --netns against.', {
        hint: 'Leave those filters out, or give a capture recorded by mesh-trace (it carries the topology).',
      });
    }
    return this.accept(f);
  }
}

import type { Command } from 'commander';
import { MeshTraceError } from '../../errors.js';
import { encodeFilter, type FilterSpec } from '../../events/filter.js';
import type { PacketEvent } from '../../events/decode.js';
import { dropReasonName } from '../../probe/btf-enum.js';
import { ProbeSession } from '../../probe/session.js';
import { closeOnSignals } from '../../probe/signals.js';
import { collectTopology, createResolver, type Resolver } from '../../topology/index.js';
import { eventJson, eventLine, wallClock } from '../../report/event-line.js';
import { action } from '../run-action.js';
import { style, useColor } from '../style.js';

interface EventsOptions {
  port?: string;
  host?: string;
  proto?: string;
  netns?: string[];
  json?: boolean;
  count?: string;
  duration?: string;
  docker: string[];
  disableRung: string[];
  tcMode: 'auto' | 'tcx' | 'clsact';
}

function positiveNumber(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new MeshTraceError('USAGE', `${what} must be a positive number, not "${v}".`);
  return n;
}

/** names resolve through a topology snapshot, re-taken (at most once a second) when an
 * event comes from a device the snapshot does not know yet */
function liveNames(docker: string[]): { where: (e: PacketEvent) => string; ready: Promise<void>; resolver: () => Resolver | undefined } {
  let resolver: Resolver | undefined;
  let refreshing = false;
  let last = 0;
  const refresh = async () => {
    if (refreshing || Date.now() - last < 1000) return;
    refreshing = true;
    last = Date.now();
    try {
      resolver = createResolver(await collectTopology({ docker }));
    } catch {
      /* names stay as they were */
    } finally {
      refreshing = false;
    }
  };
  const ready = refresh();
  return {
    ready,
    resolver: () => resolver,
    where: (e) => {
      if (!e.ifindex) return e.netns ? `netns ${e.netns}` : '-';
      const r = resolver?.resolve(e.netns, e.ifindex);
      if (r) return r.label;
      void refresh();
      return resolver ? resolver.label(e.netns, e.ifindex) : `netns ${e.netns} · if ${e.ifindex}`;
    },
  };
}

export function registerEvents(program: Command): void {
  program
    .command('events')
    .description('Print every hop event as it happens (one line per packet per hook), names resolved from the topology')
    .option('-p, --port <port>', 'source or destination port, outer or inner (VXLAN)')
    .option('--host <addr>', 'source or destination address or CIDR')
    .option('--proto <proto>', 'tcp, udp, icmp or a number')
    .option('--netns <name...>', 'only these namespaces (names as `mesh-trace topology` shows them, or inodes)')
    .option('--json', 'NDJSON: one JSON object per event')
    .option('-c, --count <n>', 'stop after n events')
    .option('-d, --duration <seconds>', 'stop after this many seconds')
    .option('--docker <socket...>', 'Docker Engine API sockets', ['/var/run/docker.sock'])
    .option('--disable-rung <rung...>', 'switch attach rungs off, e.g. fentry or tcx', [])
    .option('--tc-mode <mode>', 'device attach: auto, tcx or clsact', 'auto')
    .action(
      action(async (opts: EventsOptions) => {
        const filter: FilterSpec = {};
        if (opts.port !== undefined) filter.port = Number(opts.port);
        if (opts.host !== undefined) filter.host = opts.host;
        if (opts.proto !== undefined) filter.proto = opts.proto;
        encodeFilter(filter); // a bad filter is refused before anything else is done
        const count = positiveNumber(opts.count, '--count');
        const duration = positiveNumber(opts.duration, '--duration');
        const names = liveNames(opts.docker);
        await names.ready;
        if (opts.netns?.length) {
          const snap = names.resolver();
          filter.netns = opts.netns.map((n) => {
            if (/^\d+$/.test(n)) return Number(n);
            const ns = snap && snap.devices().find((d) => d.netns === n);
            if (!ns) throw new MeshTraceError('NOT_FOUND', `No network namespace is named "${n}".`, { hint: 'Run `mesh-trace topology` to see the names.' });
            return ns.netnsInode;
          });
        }
        const session = await ProbeSession.open({
          filter,
          disabledRungs: opts.disableRung,
          tcMode: opts.tcMode,
          onWarning: (w) => process.stderr.write(`mesh-trace: ${w.message}\n`),
        });
        const summary = () => {
          const c = session.counters();
          process.stderr.write(
            `${seen} events; lost: ring ${c.ringFull}, queue ${c.queueFull}; ${c.devicesAttached} devices in ${c.namespacesAttached} namespaces (${session.tcMechanism() ?? 'no tc'})\n`,
          );
        };
        closeOnSignals(session, summary);
        const c0 = session.counters();
        process.stderr.write(`tracing ${c0.devicesAttached} devices in ${c0.namespacesAttached} namespaces${filter.port ? ` (port ${filter.port})` : ''}; Ctrl-C to stop\n`);
        const ctx = { where: names.where, dropName: dropReasonName, clock: wallClock(), style: style(useColor()) };
        let seen = 0;
        if (duration) setTimeout(() => void session.close(), duration * 1000).unref();
        const out = process.stdout;
        for await (const batch of session) {
          const lines: string[] = [];
          for (const e of batch.events()) {
            lines.push(opts.json ? eventJson(e, ctx) : eventLine(e, ctx));
            if (++seen === count) break;
          }
          if (lines.length) out.write(lines.join('\n') + '\n');
          if (seen === count) break;
        }
        await session.close();
        summary();
      }),
    );
}

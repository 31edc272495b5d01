import type { Command } from 'commander';
import { MeshTraceError } from '../../errors.js';
import { dropReasonName } from '../../probe/btf-enum.js';
import { ProbeSession } from '../../probe/session.js';
import { closeOnSignals } from '../../probe/signals.js';
import { eventJson, eventLine, wallClock } from '../../report/event-line.js';
import { addCaptureOptions, captureFilter, positiveNumber, type CaptureOptions } from '../capture-options.js';
import { liveNames } from '../live-names.js';
import { action } from '../run-action.js';
import { parseForcedRungs } from '../rung-options.js';
import { style, useColor } from '../style.js';

interface EventsOptions extends CaptureOptions {
  netns?: string[];
}

export function registerEvents(program: Command): void {
  addCaptureOptions(
    program.command('events').description('Print every hop event as it happens (one line per packet per hook), names resolved from the topology'),
    'events',
  )
    .option('--netns <name...>', 'only these namespaces (names as `mesh-trace topology` shows them, or inodes)')
    .option('--json', 'NDJSON: one JSON object per event')
    .action(
      action(async (opts: EventsOptions) => {
        const filter = captureFilter(opts);
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
          forcedRungs: parseForcedRungs(opts.rung),
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

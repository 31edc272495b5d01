// The options every live command shares (what to trace, how long, how to attach), and
// turning them into an in-kernel filter with a clear error for each bad value.
import type { Command } from 'commander';
import { MeshTraceError } from '../errors.js';
import { encodeFilter, parseSnaplen, type FilterSpec } from '../events/filter.js';
import { SNAPLEN_MAX } from '../events/layout.js';
import { collectPairs, RUNG_OPTION_HELP } from './rung-options.js';

export interface CaptureOptions {
  port?: string;
  host?: string;
  proto?: string;
  json?: boolean;
  count?: string;
  duration?: string;
  docker: string[];
  disableRung: string[];
  rung: string[];
  tcMode: 'auto' | 'tcx' | 'clsact';
  /** --snaplen (record, trace -w, live export) */
  snaplen?: string;
}

export function addCaptureOptions(cmd: Command, countWhat: string): Command {
  return cmd
    .option('-p, --port <port>', 'source or destination port, outer or inner (VXLAN)')
    .option('--host <addr>', 'source or destination address or CIDR')
    .option('--proto <proto>', 'tcp, udp, icmp or a number')
    .option('-c, --count <n>', `stop after n ${countWhat}`)
    .option('-d, --duration <seconds>', 'stop after this many seconds')
    .option('--docker <socket...>', 'Docker Engine API sockets', ['/var/run/docker.sock'])
    .option('--disable-rung <rung...>', 'switch attach rungs off, e.g. fentry or tcx', [])
    .option('--rung <hook=rung>', RUNG_OPTION_HELP, collectPairs, [])
    .option('--tc-mode <mode>', 'device attach: auto, tcx or clsact', 'auto');
}

/** --snaplen, for the commands that keep packets (a recording, a pcapng) */
export function addSnaplenOption(cmd: Command): Command {
  return cmd.option(
    '--snaplen <bytes>',
    `also keep the first bytes of each packet, from its IP header on (at most ${SNAPLEN_MAX}; default 0: headers only). Payload is sensitive: the file is mode 0600`,
  );
}

/** --snaplen's value (0 when not given); a bad value is a usage error */
export function captureSnaplen(opts: { snaplen?: string }): number {
  return parseSnaplen(opts.snaplen);
}

export function positiveNumber(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new MeshTraceError('USAGE', `${what} must be a positive number, not "${v}".`);
  return n;
}

/** the in-kernel filter; a bad value is refused before anything is attached */
export function captureFilter(opts: CaptureOptions): FilterSpec {
  const filter: FilterSpec = {};
  if (opts.port !== undefined) filter.port = Number(opts.port);
  if (opts.host !== undefined) filter.host = opts.host;
  if (opts.proto !== undefined) filter.proto = opts.proto;
  encodeFilter(filter);
  return filter;
}

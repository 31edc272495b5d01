import type { Command } from 'commander';
import { MeshTraceError } from '../../errors.js';
import { collectTopology, createResolver, DEFAULT_DOCKER_SOCKET, renderDot, renderText, resolvePublishedPort, type Netns } from '../../topology/index.js';
import { action } from '../run-action.js';

interface TopologyOpts {
  json?: boolean;
  dot?: boolean;
  docker: string[];
  netns?: string;
  node?: string;
  port?: string;
  proc: boolean;
}

const collectRepeat = (v: string, prev: string[]): string[] => [...prev, v];

/** A namespace chosen by what a user sees: its display name, an ip-netns/Docker file name, its inode, or NODE/NAME. */
function netnsFilter(want: string): (n: Netns) => boolean {
  const slash = want.indexOf('/');
  return (n) =>
    n.display === want ||
    n.names.includes(want) ||
    String(n.inode) === want ||
    n.container?.name === want ||
    (slash > 0 && n.node === want.slice(0, slash) && n.display === want.slice(slash + 1));
}

export function registerTopology(program: Command): void {
  program
    .command('topology')
    .description("Draw this node's network: namespaces, bridges and ports, veth pairs, VXLAN tunnels, NAT and mark rules, load balancers")
    .option('--json', 'print the snapshot as JSON')
    .option('--dot', 'print a Graphviz graph')
    .option('--docker <path>', `a Docker socket to name things from (repeatable; default ${DEFAULT_DOCKER_SOCKET})`, collectRepeat, [])
    .option('--netns <name>', 'show one namespace (display name, ip-netns or Docker file name, inode, or NODE/NAME)')
    .option('--node <name>', 'show one node')
    .option('--port <port>', 'also show the hops a packet to this published port is expected to cross')
    .option('--no-proc', 'skip namespaces that only a process holds')
    .action(
      action(async (opts: TopologyOpts) => {
        if (opts.json && opts.dot) throw new MeshTraceError('USAGE', 'Choose one of --json and --dot.', { hint: 'mesh-trace topology --json > topo.json' });
        const port = opts.port !== undefined ? Number(opts.port) : undefined;
        if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536))
          throw new MeshTraceError('USAGE', `--port ${opts.port} is not a port number.`, { hint: 'e.g. --port 1080' });
        const snap = await collectTopology({ docker: opts.docker.length ? opts.docker : [DEFAULT_DOCKER_SOCKET], proc: opts.proc });
        for (const w of snap.warnings) process.stderr.write(`warning: ${w}\n`);
        let filter: ((n: Netns) => boolean) | undefined;
        if (opts.netns) {
          filter = netnsFilter(opts.netns);
          if (!snap.netns.some(filter))
            throw new MeshTraceError('NOT_FOUND', `No network namespace is called "${opts.netns}".`, {
              hint: `Known: ${snap.netns.slice(0, 12).map((n) => `${n.node}/${n.display}`).join(', ')}${snap.netns.length > 12 ? ', …' : ''}`,
            });
        }
        if (opts.node) {
          if (!snap.nodes.includes(opts.node))
            throw new MeshTraceError('NOT_FOUND', `No node is called "${opts.node}".`, { hint: `Known nodes: ${snap.nodes.join(', ')}.` });
          const f0 = filter;
          filter = (n) => n.node === opts.node && (!f0 || f0(n));
        }
        // The service path is followed on the whole node (it crosses namespaces the filter hides).
        const service = port !== undefined ? resolvePublishedPort(snap, port, opts.node ? { node: opts.node } : {}) : undefined;
        const resolver = createResolver(snap);
        if (filter) {
          const f = filter;
          snap.netns = snap.netns.filter(f);
          snap.nodes = snap.nodes.filter((nd) => snap.netns.some((n) => n.node === nd));
        }
        if (opts.json) {
          process.stdout.write(JSON.stringify(service ? { ...snap, service } : snap, null, 2) + '\n');
          return;
        }
        if (opts.dot) {
          process.stdout.write(renderDot(snap));
          return;
        }
        process.stdout.write(renderText(snap, { resolver }));
        if (service) {
          process.stdout.write(`\n${service.protocol} port ${service.port} on ${service.node} (load balancer: ${service.balancer}${service.backends.length ? `, backends ${service.backends.join(', ')}` : ''})\n`);
          service.hops.forEach((h, i) => process.stdout.write(`  ${String(i + 1).padStart(2)}. ${h.text}\n`));
          for (const g of service.gaps) process.stdout.write(`  ? ${g}\n`);
        }
      }),
    );
}

import type { Command } from 'commander';
import { labDown, labExec, labRequest, labSlowHop, labStatus, labUp, type LabStatus } from '../../lab/index.js';
import { MeshTraceError } from '../../errors.js';
import { action } from '../run-action.js';

function printStatus(s: LabStatus): void {
  const out = process.stdout;
  out.write(`lab: ${s.up ? 'up' : s.namespaces.some((n) => n.present) ? 'partly up (run `mesh-trace lab up` to rebuild it)' : 'down'}\n`);
  if (s.lbMode) out.write(`load balancer: ${s.lbMode === 'ipvs' ? 'IPVS fwmark service' : 'iptables DNAT'} (${s.lbReason})\n`);
  for (const node of [...new Set(s.namespaces.map((n) => n.node))]) {
    out.write(`${node}\n`);
    for (const n of s.namespaces.filter((x) => x.node === node)) {
      const srv = s.servers.filter((v) => s.namespaces.find((m) => m.display === v.container && m.node === node && m.name === n.name));
      const servers = srv.map((v) => ` · :${v.port} ${v.running ? `running (pid ${v.pid})` : 'not running'}`).join('');
      out.write(`  ${n.present ? '✓' : '✗'} ${n.display.padEnd(14)} ${n.name}${n.inode ? ` [netns ${n.inode}]` : ''}${servers}\n`);
    }
  }
  if (s.strays.length > 0) out.write(`stray lab namespaces: ${s.strays.join(', ')} (\`mesh-trace lab down\` removes them)\n`);
}

// `mesh-trace lab`: the seeds' two-node swarm in network namespaces (see src/lab/layout.ts).
export function registerLab(program: Command): void {
  // `lab exec NODE CMD -x …` hands CMD's options to CMD: the root stops parsing options at
  // its subcommand (src/cli/program.ts) and so does `lab`.
  const lab = program
    .command('lab')
    .description('Build a two-node Docker swarm layout (ingress routing mesh, VXLAN overlays, a three-tier app) in network namespaces')
    .enablePositionalOptions();

  lab
    .command('up')
    .description('Build the lab (does nothing when it is already up), then check that the client reaches nginx through node1:1080')
    .option('--json', 'print the status as JSON')
    .action(
      action(async (opts: { json?: boolean }) => {
        const r = await labUp();
        if (opts.json) {
          process.stdout.write(JSON.stringify(r, null, 2) + '\n');
          return;
        }
        if (!r.built) process.stdout.write('The lab is already up.\n');
        else process.stdout.write(`The lab is up; client → node1:1080 answered: ${r.check?.trim()}\n`);
        if (r.lbMode === 'iptables') process.stderr.write(`note: ${r.lbReason}\n`);
        process.stdout.write('Try: mesh-trace lab exec client busybox nc 192.168.60.1 1080   (then type GET / HTTP/1.0 and two Enters)\n');
      }),
    );

  lab
    .command('down')
    .description('Remove every lab namespace, device, rule and process')
    .action(
      action(async () => {
        const r = await labDown();
        process.stdout.write(r.removed.length ? `Removed ${r.removed.length} lab namespaces.\n` : 'The lab was not up.\n');
      }),
    );

  lab
    .command('status')
    .description('Show which lab namespaces and servers exist')
    .option('--json', 'print as JSON')
    .action(
      action(async (opts: { json?: boolean }) => {
        const s = await labStatus();
        if (opts.json) process.stdout.write(JSON.stringify(s, null, 2) + '\n');
        else printStatus(s);
      }),
    );

  lab
    .command('exec')
    .description('Run a command inside a lab node or container: node1, node2, client, nginx, node, redis, or NODE/NAME (node1/ingress-sbox)')
    .argument('<target>', 'node, container or NODE/NAME')
    .argument('<command...>', 'the command and its arguments (no shell)')
    .passThroughOptions()
    .action(
      action(async (target: string, argv: string[]) => {
        const cmd = argv[0] === '--' ? argv.slice(1) : argv;
        const r = await labExec(target, cmd, { stdio: 'inherit' });
        return r.code;
      }),
    );
  lab
    .command('slow-hop')
    .description("Make a hop slow on purpose until Ctrl-C: every SYN to 1080 waits a fixed time in the node's ingress-sbox (an NFQUEUE holder), for trying `mesh-trace hotspots`")
    .option('--delay-ms <ms>', 'how long each SYN is held', '20')
    .option('--node <node>', 'whose ingress-sbox holds them', 'node1')
    .action(
      action(async (opts: { delayMs: string; node: string }) => {
        const hop = await labSlowHop({ delayMs: Number(opts.delayMs), node: opts.node });
        process.stdout.write(`Holding every SYN to 1080 in ${hop.where} for ${hop.delayMs} ms; Ctrl-C to stop.\n`);
        await new Promise<void>((resolve) => {
          const done = () => resolve();
          process.once('SIGINT', done);
          process.once('SIGTERM', done);
        });
        await hop.remove();
        process.stdout.write('Released; the hop is back to normal.\n');
      }),
    );

  lab
    .command('requests')
    .description("Send a stream of requests from the lab's client through the routing mesh (one after the other)")
    .option('-n, --count <n>', 'how many', '100')
    .option('--node <node>', 'the node whose published port is asked', 'node1')
    .action(
      action(async (opts: { count: string; node: string }) => {
        const n = Number(opts.count);
        if (!Number.isInteger(n) || n <= 0) throw new MeshTraceError('USAGE', `--count must be a positive whole number, not "${opts.count}".`);
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < n; i++) await labRequest(opts.node);
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        process.stdout.write(`${n} requests to ${opts.node}:1080 answered in ${(ms / 1000).toFixed(2)} s (${(ms / n).toFixed(1)} ms each, with the client's process start).\n`);
      }),
    );
}

// Docker's real routing mesh, traced: a single-node swarm with a service published as
// `-p 1080:80`, one request to port 1080 from a client namespace of the test's own (as
// from another machine: a request from the host itself is DNATed at OUTPUT, before any
// device sees it, which kernels without netfilter links could not show), and `mesh-trace --port 1080
// --json` must show every step Docker built for it, named as docker reports them: the
// DOCKER-INGRESS DNAT to ingress-sbox's docker_gwbridge address, docker_gwbridge,
// ingress-sbox, the MARK, the IPVS fwmark service and the task it chose, and the task's
// container. Needs IPVS, so it runs in test/vm's guests (npm test boots the 6.1 one);
// this 6.18 host has none (KERNEL.md) and skips it.
import { existsSync } from 'node:fs';
import { execFile, execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlowRecord, Hop } from '../../src/correlate/index.js';
import { runTracing } from '../helpers/cli.js';
import { dockerdUnavailable, importBusybox, startDockerd, type Dockerd } from './fixture.js';

function ipvsUnavailable(): string | undefined {
  try {
    execFileSync('modprobe', ['-a', 'ip_vs', 'ip_vs_rr'], { stdio: 'ignore' });
  } catch {
    /* built in, or absent: seen below */
  }
  return existsSync('/proc/net/ip_vs') ? undefined : 'the kernel has no IPVS, which the routing mesh needs (runs in the test/vm guests)';
}

const why = dockerdUnavailable() ?? ipvsUnavailable();
/** emulation (test/vm) is 10-45x slower: dockerd, the image import and the task take ~90 s there */
const slow = process.env.MESH_TRACE_VM ? 10 : 1;

// the client: its own namespace behind a veth, the project's own test addresses, no other route
const CLIENT_NS = 'mtd-mesh-client';
const HOST_ADDR = '192.168.61.1';
const CLIENT_ADDR = '192.168.61.100';
const sh = (...argv: string[]) => execFileSync(argv[0], argv.slice(1), { stdio: 'ignore' });

function addClient(): void {
  removeClient();
  sh('ip', 'netns', 'add', CLIENT_NS);
  sh('ip', 'link', 'add', 'mtd-mesh0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', CLIENT_NS);
  sh('ip', 'addr', 'add', `${HOST_ADDR}/24`, 'dev', 'mtd-mesh0');
  sh('ip', 'link', 'set', 'mtd-mesh0', 'up');
  for (const argv of [['ip', 'link', 'set', 'lo', 'up'], ['ip', 'addr', 'add', `${CLIENT_ADDR}/24`, 'dev', 'eth0'], ['ip', 'link', 'set', 'eth0', 'up']]) sh('ip', 'netns', 'exec', CLIENT_NS, ...argv);
}

function removeClient(): void {
  try {
    sh('ip', 'netns', 'del', CLIENT_NS);
  } catch {
    /* not there */
  }
}

/** one HTTP request from the client namespace to the published port: its body (busybox nc,
 * as the lab's client does: busybox wget crashes inside a namespace on some builds) */
function clientGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = execFile('ip', ['netns', 'exec', CLIENT_NS, 'busybox', 'nc', '-w', String(5 * slow), HOST_ADDR, String(port)], { encoding: 'utf8' }, (err, out) => {
      const sep = out.indexOf('\r\n\r\n');
      if (!err && sep >= 0 && /^HTTP\/1\.\d 200/.test(out)) resolve(out.slice(sep + 4));
      else reject(err ?? new Error(`no HTTP 200 from ${HOST_ADDR}:${port}: ${out.slice(0, 200)}`));
    });
    p.stdin!.end(`GET / HTTP/1.0\r\nHost: ${HOST_ADDR}:${port}\r\n\r\n`);
  });
}

describe.skipIf(!!why)(`Docker's routing mesh, traced${why ? ` (skipped: ${why})` : ''}`, () => {
  let d: Dockerd;
  let flow: FlowRecord;
  let sboxGw = '';
  let taskAddr = '';
  let taskName = '';
  const hopAt = (pred: (h: Hop) => boolean) => flow.forward!.hops.find(pred);

  beforeAll(async () => {
    addClient();
    d = await startDockerd();
    importBusybox(d);
    d.docker('swarm', 'init', '--advertise-addr', '127.0.0.1');
    d.docker('service', 'create', '--detach', '--name', 'web', '-p', '1080:80', '--no-resolve-image', 'local/busybox', 'httpd', '-f', '-p', '80', '-h', '/www');
    // the task runs and the mesh answers (Docker wires IPVS after the task starts)
    const deadline = Date.now() + (process.env.MESH_TRACE_VM ? 300_000 : 60_000);
    let answer = '';
    while (Date.now() < deadline && !answer) {
      answer = await clientGet(1080).catch(() => '');
      if (!answer) await new Promise((r) => setTimeout(r, 1000));
    }
    expect(answer, `the routing mesh answers on ${HOST_ADDR}:1080`).toBe('hello from busybox\n');

    const gw = JSON.parse(d.docker('network', 'inspect', 'docker_gwbridge'))[0];
    sboxGw = (gw.Containers['ingress-sbox'].IPv4Address as string).split('/')[0];
    const taskId = d.docker('service', 'ps', 'web', '-q', '--filter', 'desired-state=running').trim().split('\n')[0];
    const task = JSON.parse(d.docker('inspect', taskId))[0];
    taskName = d.docker('service', 'ps', 'web', '--format', '{{.Name}}', '--filter', 'desired-state=running').trim().split('\n')[0];
    taskAddr = (task.NetworksAttachments.find((a: { Network: { Spec: { Name: string } } }) => a.Network.Spec.Name === 'ingress').Addresses[0] as string).split('/')[0];

    const r = await runTracing(['--port', '1080', '--count', '1', '--json', '--docker', d.socket], () => clientGet(1080));
    expect(r.code, r.err).toBe(0);
    const flows: FlowRecord[] = r.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(flows).toHaveLength(1);
    flow = flows[0];
    process.stdout.write(`routing-mesh forward hops:\n${flow.forward!.hops.map((h) => `  ${h.where} ${h.what} ${h.changes.map((c) => `${c.kind} ${c.from ?? ''} → ${c.to ?? ''} [${c.rule ?? ''}]`).join('; ')}`).join('\n')}\n`);
  }, process.env.MESH_TRACE_VM ? 480_000 : 120_000);

  afterAll(async () => {
    await d?.stop();
    removeClient();
  }, process.env.MESH_TRACE_VM ? 120_000 : 60_000);

  it('the DOCKER-INGRESS DNAT to ingress-sbox on docker_gwbridge', () => {
    const dnat = flow.forward!.hops.flatMap((h) => h.changes.map((c) => ({ h, c }))).find(({ c }) => c.kind === 'DNAT')!;
    expect(dnat.h.netns).toBe('host');
    expect(dnat.c).toMatchObject({ from: `${HOST_ADDR}:1080`, to: `${sboxGw}:1080` });
    expect(dnat.c.rule).toMatch(/^nat DOCKER-INGRESS DNAT tcp dpt:1080 → /);
    expect(hopAt((h) => h.netns === 'host' && h.device === 'docker_gwbridge')).toBeDefined();
    // ingress-sbox's end of docker_gwbridge, where the packet enters it
    expect(hopAt((h) => h.netns === 'ingress-sbox' && h.network === 'docker_gwbridge' && h.what !== 'lb')).toBeDefined();
  });

  it('in ingress-sbox: the MARK, the IPVS fwmark service and the task it chose', () => {
    const sbox = flow.forward!.hops.filter((h) => h.netns === 'ingress-sbox');
    const changes = sbox.flatMap((h) => h.changes);
    expect(changes.find((c) => c.kind === 'MARK')).toMatchObject({ to: '0x100' });
    const lb = sbox.find((h) => h.what === 'lb')!;
    expect(lb.hooks).toContain('ipvs-nat-xmit');
    expect(lb.changes.find((c) => c.kind === 'IPVS')).toMatchObject({ from: `${sboxGw}:1080`, to: `${taskAddr}:1080`, rule: 'ipvs FWM 256' });
  });

  it("reaches the task's container, named as docker names the task", () => {
    expect(taskName).toBe('web.1');
    expect(flow.forward!.end).toBe('delivered');
    expect(flow.forward!.hops.at(-1)).toMatchObject({ netns: taskName, what: 'in', network: 'ingress' });
    expect(flow.client).toMatch(new RegExp(`^${CLIENT_ADDR.replace(/\./g, '\\.')}:\\d+$`));
    expect(flow.reply).not.toBeNull();
  });
});

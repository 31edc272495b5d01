// The lab and topology commands as a user runs them (in process, through commander).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { labDown } from '../../src/lab/index.js';

async function cli(...argv: string[]): Promise<{ out: string; err: string; code: number }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: any) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: any) => ((err += String(s)), true));
  process.exitCode = 0;
  try {
    await buildProgram().exitOverride().parseAsync(['node', 'mesh-trace', ...argv]);
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { out, err, code };
}

describe.skipIf(process.getuid?.() !== 0)('mesh-trace lab / topology commands', () => {
  beforeAll(async () => {
    await labDown();
  });
  afterAll(async () => {
    await labDown();
  });

  it('lab up builds the lab and reports nginx answering through node1:1080', async () => {
    const r = await cli('lab', 'up');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/client → node1:1080 answered: nginx on node2/);
    expect(r.err).toMatch(/iptables DNAT in place of the IPVS fwmark service/);
    expect((await cli('lab', 'up')).out).toMatch(/already up/);
  });

  it('lab status --json', async () => {
    const r = await cli('lab', 'status', '--json');
    const s = JSON.parse(r.out);
    expect(s.up).toBe(true);
    expect(s.namespaces.length).toBe(12);
  });

  it('topology --netns shows one namespace; --port shows the path; --json names every lab device', async () => {
    const t = await cli('topology', '--docker', '/nonexistent.sock', '--netns', 'node2/nginx.1', '--port', '1080');
    expect(t.err).toMatch(/Docker was not found at \/nonexistent\.sock; showing the kernel view only/);
    expect(t.out).toMatch(/^node2\n└── nginx\.1/);
    expect(t.out).toMatch(/eth2 {2}veth {2}\(ingress\) {2}10\.255\.0\.5\/16/);
    expect(t.out).toMatch(/17\. node2 · nginx\.1 · tcp :80/);
    const j = JSON.parse((await cli('topology', '--json', '--docker', '/nonexistent.sock', '--no-proc')).out);
    const lab = j.netns.filter((n: any) => n.names.some((x: string) => x.startsWith('mtlab-')));
    expect(lab.length).toBe(12);
    for (const n of lab) for (const d of n.devices) if (d.kind !== 'loopback') expect(d.network, `${n.display} ${d.name}`).toBeTruthy();
    const dot = (await cli('topology', '--dot', '--docker', '/nonexistent.sock')).out;
    expect(dot).toMatch(/^digraph topology \{/);
  });

  it('says clearly what is wrong', async () => {
    const r = await cli('topology', '--netns', 'nowhere', '--docker', '/nonexistent.sock');
    expect(r.code).toBe(66);
    expect(r.err).toMatch(/No network namespace is called "nowhere"/);
    const x = await cli('lab', 'exec', 'nowhere', 'true');
    expect(x.code).toBe(66);
  });

  it('lab down removes it', async () => {
    const r = await cli('lab', 'down');
    expect(r.out).toMatch(/Removed 12 lab namespaces/);
    expect(JSON.parse((await cli('lab', 'status', '--json')).out).up).toBe(false);
  });
});

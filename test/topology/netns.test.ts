import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listNetns } from '../../src/topology/netns.js';

// Names with a space, quotes and $() must come through as file names, never as commands.
const NAME = "mtt-netns 'q' \"é\" $(touch mtt-pwned)";

describe('listNetns', () => {
  beforeAll(() => execFileSync('ip', ['netns', 'add', NAME]));
  afterAll(() => execFileSync('ip', ['netns', 'del', NAME]));

  it('lists the host first and a named namespace by its inode', async () => {
    const all = await listNetns();
    expect(all[0].source).toBe('host');
    expect(all[0].inode).toBe(statSync('/proc/self/ns/net').ino);
    const mine = all.find((n) => n.names.includes(NAME));
    expect(mine).toBeDefined();
    expect(mine!.source).toBe('netns');
    expect(mine!.inode).toBe(statSync(`/run/netns/${NAME}`).ino);
    expect(new Set(all.map((n) => n.inode)).size).toBe(all.length);
    expect(() => statSync('mtt-pwned')).toThrow();
  });

  it('finds a namespace that only a process holds', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn('unshare', ['--net', 'sleep', '30'], { stdio: 'ignore' });
    try {
      let found;
      for (let i = 0; i < 50 && !found; i++) {
        await new Promise((r) => setTimeout(r, 50));
        found = (await listNetns()).find((n) => n.source === 'proc' && n.names.some((x) => x.includes('sleep')));
      }
      expect(found).toBeDefined();
      expect(found!.path).toMatch(/^\/proc\/\d+\/ns\/net$/);
    } finally {
      child.kill('SIGTERM');
    }
  });
});

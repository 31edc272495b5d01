import { describe, expect, it } from 'vitest';
import { parseDockerdArgs } from '../../src/topology/netns.js';

describe('parseDockerdArgs', () => {
  it('defaults to /var/run/docker and /var/run/docker.sock', () => {
    expect(parseDockerdArgs([])).toEqual({ execRoot: '/var/run/docker', sockets: ['/var/run/docker.sock'] });
  });
  it('reads --exec-root and -H in both spellings', () => {
    expect(parseDockerdArgs(['--exec-root', '/d/exec', '-H', 'unix:///d/docker.sock', '--host=unix:///e.sock', '-H', 'tcp://1.2.3.4:2375'])).toEqual({
      execRoot: '/d/exec',
      sockets: ['/d/docker.sock', '/e.sock'],
    });
    expect(parseDockerdArgs(['--exec-root=/x']).execRoot).toBe('/x');
  });
});

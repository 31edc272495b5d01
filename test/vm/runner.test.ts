// The VM runner's pure parts, fast and without qemu: finding the kernel in a bzImage, the
// initramfs archive, kernel version choice, shell quoting, and the compatibility tables.
// (Booting is covered by test/vm/boot.test.ts, which runs only with MESH_TRACE_VM_TESTS=1.)
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  bzImagePayload, compareKernelVersions, cpioNewc, extractVmlinux, isExactVersion, isStaticElf, seriesPattern, shq, which,
} from './lib.mjs';
import { failures, markdownTable, rungCell, rungRows, suiteErrors, testRows } from './compat.mjs';

/** a bzImage-shaped buffer: boot header, setup sectors, then the payload and its size */
function fakeBzImage(payload: Buffer, uncompressedSize: number, setupSects = 3): Buffer {
  const pm = ((setupSects || 4) + 1) * 512; // 0 means 4, as in the kernel
  const payloadOffset = 100;
  const b = Buffer.alloc(pm + payloadOffset + payload.length + 4 + 64);
  b[0x1f1] = setupSects;
  b.write('HdrS', 0x202, 'latin1');
  b.writeUInt32LE(payloadOffset, 0x248);
  b.writeUInt32LE(payload.length + 4, 0x24c);
  payload.copy(b, pm + payloadOffset);
  b.writeUInt32LE(uncompressedSize, pm + payloadOffset + payload.length);
  return b;
}

/** reads a newc archive back: name -> { mode, data, rdev } */
function readCpio(buf: Buffer) {
  const out = new Map<string, { mode: number; data: Buffer; rdev: [number, number] }>();
  let off = 0;
  const align = (n: number) => (n + 3) & ~3;
  for (;;) {
    expect(buf.toString('latin1', off, off + 6)).toBe('070701');
    const field = (i: number) => parseInt(buf.toString('latin1', off + 6 + i * 8, off + 14 + i * 8), 16);
    const mode = field(1);
    const size = field(6);
    const rdev: [number, number] = [field(9), field(10)];
    const nameSize = field(11);
    const name = buf.toString('latin1', off + 110, off + 110 + nameSize - 1);
    const dataStart = align(off + 110 + nameSize);
    if (name === 'TRAILER!!!') return out;
    out.set(name, { mode, data: buf.subarray(dataStart, dataStart + size), rdev });
    off = align(dataStart + size);
  }
}

describe('bzImage payload', () => {
  it('is found from the boot header and named by its magic', () => {
    const xz = Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), Buffer.from('rest')]);
    const p = bzImagePayload(fakeBzImage(xz, 1234));
    expect(p.format).toBe('xz');
    expect(p.size).toBe(1234);
    expect(Buffer.from(p.data).equals(xz)).toBe(true);
    const zst = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.from('zz')]);
    expect(bzImagePayload(fakeBzImage(zst, 9, 0)).format).toBe('zstd'); // setup_sects 0 means 4
  });

  it('refuses what is not a kernel, in one sentence', () => {
    expect(() => bzImagePayload(Buffer.alloc(4096))).toThrow(/no Linux boot header/);
    expect(() => bzImagePayload(fakeBzImage(Buffer.from('BZh91AY'), 1))).toThrow(/does not know \(magic 425a68/);
  });

  it.skipIf(!which('xz'))('decompresses an xz payload to the ELF inside', () => {
    const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]), Buffer.alloc(5000, 7)]);
    const xz = spawnSync('xz', ['-zc', '--check=crc32'], { input: elf }).stdout as Buffer;
    const r = extractVmlinux(fakeBzImage(xz, elf.length));
    expect(r.format).toBe('xz');
    expect(Buffer.from(r.elf).equals(elf)).toBe(true);
  });
});

describe('initramfs archive (newc cpio)', () => {
  it('holds directories, files and the console device, and ends with the trailer', () => {
    const a = cpioNewc([
      { name: 'dev', mode: 0o040755 },
      { name: 'dev/console', mode: 0o020600, rdev: [5, 1] },
      { name: 'init', mode: 0o100755, data: Buffer.from('#!/bin/sh\n') },
      { name: 'odd', mode: 0o100644, data: Buffer.from('abcde') },
    ]);
    expect(a.length % 4).toBe(0);
    const m = readCpio(a);
    expect([...m.keys()]).toEqual(['dev', 'dev/console', 'init', 'odd']);
    expect(m.get('dev/console')!.rdev).toEqual([5, 1]);
    expect(m.get('dev/console')!.mode).toBe(0o020600);
    expect(m.get('init')!.data.toString()).toBe('#!/bin/sh\n');
    expect(m.get('odd')!.data.toString()).toBe('abcde');
  });

  it.skipIf(!which('cpio'))('is read by cpio itself', () => {
    const a = cpioNewc([{ name: 'x', mode: 0o100644, data: Buffer.from('1') }, { name: 'd', mode: 0o040755 }]);
    const r = spawnSync('cpio', ['-t', '--quiet'], { input: a, encoding: 'utf8' });
    expect(r.stdout.split('\n').filter(Boolean)).toEqual(['x', 'd']);
  });
});

describe('kernel versions', () => {
  it('a series matches its own amd64 kernels only', () => {
    const p61 = seriesPattern('6.1')!;
    expect(p61.test('6.1.0-56-amd64')).toBe(true);
    expect(p61.test('6.1.0-56-cloud-amd64')).toBe(false);
    expect(p61.test('6.1.0-56-rt-amd64')).toBe(false);
    expect(p61.test('6.12.117+deb12-amd64')).toBe(false);
    const p612 = seriesPattern('6.12')!;
    expect(p612.test('6.12.117+deb12-amd64')).toBe(true);
    expect(p612.test('6.12.117+deb12-cloud-amd64')).toBe(false);
    expect(seriesPattern('latest')).toBeNull();
  });

  it('the newest is chosen by number, not by text', () => {
    const v = ['6.1.0-9-amd64', '6.1.0-56-amd64', '6.1.0-10-amd64'].sort(compareKernelVersions);
    expect(v.at(-1)).toBe('6.1.0-56-amd64');
    expect(['6.12.99+deb12-amd64', '6.12.117+deb12-amd64'].sort(compareKernelVersions).at(-1)).toBe('6.12.117+deb12-amd64');
  });

  it('an exact version is told from a series', () => {
    expect(isExactVersion('6.1.0-56-amd64')).toBe(true);
    expect(isExactVersion('6.12.117+deb12-amd64')).toBe(true);
    expect(isExactVersion('6.1')).toBe(false);
  });
});

describe('host tools', () => {
  it('tells a static ELF from a dynamic one', () => {
    expect(isStaticElf(process.execPath)).toBe(false); // node is dynamically linked
  });

  it('quotes any word for sh', () => {
    for (const w of ['plain', "it's", 'a b', '$HOME', '`x`', '"q"', '', 'x\ny']) {
      const r = spawnSync('sh', ['-c', `printf %s ${shq(w)}`], { encoding: 'utf8' });
      expect(r.stdout).toBe(w);
    }
  });
});

describe('compatibility tables', () => {
  const doctor = (release: string, hooks: object[]) => ({ kernel: { release }, canTrace: true, hooks });
  const targets = [
    {
      name: '6.1',
      doctor: { ...doctor('6.1.0-1-amd64', [
        { hook: 'device-ingress', rung: null, skipped: [{ rung: 'tcx', reason: 'load: the kernel refused to load the BPF programs (EINVAL): extern | x' }] },
        { hook: 'veth-xmit', rung: 'kprobe', skipped: [] },
      ]), canTrace: false, problem: 'no way to attach to devices' },
      error: null,
      tests: {
        numPassedTests: 1, numFailedTests: 1, numPendingTests: 0,
        testResults: [{ name: '/x/test/kernel/a.test.ts', status: 'failed', assertionResults: [
          { fullName: 'a one', status: 'passed' }, { fullName: 'a two', status: 'failed', failureMessages: ['boom'] },
        ] }],
      },
    },
    { name: 'host', doctor: doctor('6.18', [{ hook: 'device-ingress', rung: 'tcx', skipped: [] }]), error: null, tests: null },
  ];

  it('hook point × kernel: the rung, or none with the first reason', () => {
    const rows = rungRows(targets);
    expect(rows[0]).toEqual(['hook point', '6.1', 'host']);
    expect(rows.find((r) => r[0] === 'can trace')).toEqual(['can trace', 'no: no way to attach to devices', 'yes']);
    expect(rows.find((r) => r[0] === 'device-ingress')).toEqual(['device-ingress', 'none: load (EINVAL): extern | x', 'tcx']);
    expect(rows.find((r) => r[0] === 'veth-xmit')).toEqual(['veth-xmit', 'kprobe', '?']);
    expect(rungCell({ rung: null, skipped: [] })).toBe('none');
  });

  it('kernel test × kernel, and markdown that escapes pipes', () => {
    const rows = testRows(targets);
    expect(rows[1]).toEqual(['a.test.ts › a one', '✓', '']);
    expect(rows[2]).toEqual(['a.test.ts › a two', '✗', '']);
    expect(rows.at(-1)).toEqual(['passed / failed / skipped', '1 / 1 / 0', 'not run']);
    const md = markdownTable(rungRows(targets));
    expect(md.split('\n')[1]).toBe('| --- | --- | --- |');
    expect(md).toContain('extern \\| x');
  });

  it('failures include a suite whose beforeAll failed (the JSON report leaves it out)', () => {
    const log = [
      ' FAIL  test/kernel/path.test.ts > a TCP connection',
      'MeshTraceError: The kernel does not support this.',
      ' FAIL  test/kernel/a.test.ts > a > two',
      'boom',
    ].join('\n');
    expect([...suiteErrors(log)]).toEqual([['path.test.ts › a TCP connection', 'MeshTraceError: The kernel does not support this.']]);
    const f = failures([{ ...targets[0], log }]);
    expect(f.map((x) => x.test)).toEqual(['path.test.ts › a TCP connection (before its tests)', 'a.test.ts › a two']);
    expect(f[1].message).toBe('boom');
  });
});

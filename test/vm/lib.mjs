// The VM runner: boots a stock Debian kernel under qemu (software emulation) with this
// machine's root filesystem shared read-only over 9p and a tmpfs overlay on top, runs one
// command in the guest and hands back its stdout, stderr and exit code.
//
// Nothing here is installed on the host but qemu and a few tools (see ensureTools); kernels
// are downloaded with `apt-get download`, unpacked with `dpkg-deb -x` and cached under
// /var/cache/mesh-trace/vm/<kernel version>/ (MESH_TRACE_VM_CACHE overrides the place).
//
// Plain Node ESM, no build step, no dependencies: `node test/vm/run.mjs --kernel 6.1 -- CMD`.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync,
  renameSync, rmSync, statSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
export const CACHE_DIR = process.env.MESH_TRACE_VM_CACHE || '/var/cache/mesh-trace/vm';
export const DEFAULT_TIMEOUT_S = 600;

/** An error whose message is one sentence for the user; `code` is the runner's exit code. */
export class VmError extends Error {
  constructor(message, code = 125) {
    super(message);
    this.code = code;
  }
}

// ---------------------------------------------------------------------------------------
// Host tools

/** command -> Debian package that provides it */
const TOOLS = [
  ['qemu-system-x86_64', 'qemu-system-x86'],
  ['xz', 'xz-utils'],
  ['zstd', 'zstd'],
  ['depmod', 'kmod'],
  ['modprobe', 'kmod'],
  ['dpkg-deb', 'dpkg'],
  ['apt-get', 'apt'],
];
const BUSYBOX = '/usr/bin/busybox';

export function which(cmd) {
  const dirs = (process.env.PATH || '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin']);
  for (const d of dirs) {
    const p = join(d, cmd);
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  return null;
}

/** true when the ELF file at `path` has no program interpreter (PT_INTERP), i.e. is static */
export function isStaticElf(path) {
  const b = readFileSync(path);
  if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2) return false; // ELF64 only
  const phoff = Number(b.readBigUInt64LE(0x20));
  const phentsize = b.readUInt16LE(0x36);
  const phnum = b.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) if (b.readUInt32LE(phoff + i * phentsize) === 3 /* PT_INTERP */) return false;
  return true;
}

function isRoot() {
  return process.geteuid?.() === 0;
}

function aptInstall(pkgs, log) {
  if (!isRoot()) {
    throw new VmError(`The VM runner needs ${pkgs.join(', ')}: install them as root (apt-get install --no-install-recommends ${pkgs.join(' ')}).`, 69);
  }
  log(`installing ${pkgs.join(' ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], { env, encoding: 'utf8' });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { env, stdio: 'ignore' });
    r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], { env, encoding: 'utf8' });
  }
  if (r.status !== 0) {
    const last = (r.stderr || '').trim().split('\n').pop();
    throw new VmError(`apt-get could not install ${pkgs.join(', ')}: ${last}`, 69);
  }
}

/** Makes sure qemu, a static busybox, xz, zstd and kmod are on the host; installs what is missing. */
export function ensureTools({ install = true, log = () => {} } = {}) {
  const missing = new Set();
  for (const [cmd, pkg] of TOOLS) if (!which(cmd)) missing.add(pkg);
  if (!existsSync(BUSYBOX) || !isStaticElf(BUSYBOX)) missing.add('busybox-static');
  if (missing.size === 0) return;
  if (!install) throw new VmError(`Missing on this machine: ${[...missing].join(', ')} (run \`node test/vm/run.mjs prepare\` as root).`, 69);
  aptInstall([...missing], log);
  for (const [cmd, pkg] of TOOLS) if (!which(cmd)) throw new VmError(`${cmd} is still missing after installing ${pkg}.`, 69);
  if (!isStaticElf(BUSYBOX)) throw new VmError(`${BUSYBOX} is not statically linked even after installing busybox-static.`, 69);
}

/** Installs extra Debian packages on the host (the guest sees the host's root). */
export function ensurePackages(pkgs, log = () => {}) {
  const missing = pkgs.filter((p) => {
    const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8' });
    return !/install ok installed/.test(r.stdout || '');
  });
  if (missing.length) aptInstall(missing, log);
}

// ---------------------------------------------------------------------------------------
// Kernels: which one, download, unpack

/** compares Debian kernel versions such as 6.1.0-56-amd64 / 6.12.117+deb12-amd64 by their numbers */
export function compareKernelVersions(a, b) {
  const na = a.match(/\d+/g).map(Number);
  const nb = b.match(/\d+/g).map(Number);
  for (let i = 0; i < Math.max(na.length, nb.length); i++) {
    const d = (na[i] ?? -1) - (nb[i] ?? -1);
    if (d) return d;
  }
  return 0;
}

/** `6.1` -> a regular expression for the flavour-less amd64 kernel versions of that series */
export function seriesPattern(series) {
  const m = /^(\d+)\.(\d+)$/.exec(series);
  if (!m) return null;
  return new RegExp(`^${m[1]}\\.${m[2]}(\\.\\d+)?[-+](\\d+|deb\\d+)-amd64$`);
}

/** is this an exact kernel version (as in the package name linux-image-VERSION)? */
export function isExactVersion(s) {
  return /^\d+\.\d+(\.\d+)?[-+][\w.+~-]*amd64$/.test(s);
}

function cachedVersions(pattern) {
  if (!existsSync(CACHE_DIR)) return [];
  return readdirSync(CACHE_DIR)
    .filter((d) => pattern.test(d) && existsSync(join(CACHE_DIR, d, 'ready.json')))
    .sort(compareKernelVersions);
}

function aptKernelVersions(pattern) {
  const r = spawnSync('apt-cache', ['search', '--names-only', '^linux-image-[0-9]'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) return [];
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0].replace(/^linux-image-/, ''))
    .filter((v) => pattern.test(v))
    .sort(compareKernelVersions);
}

/**
 * Resolves `--kernel`: an exact version is taken as it is; a series (6.1, 6.12) becomes the
 * newest linux-image-<series>…-amd64 that apt offers (apt's lists are updated once if they
 * know none), or else the newest one already in the cache.
 */
export function resolveKernel(spec, { log = () => {}, refreshApt = true } = {}) {
  if (isExactVersion(spec)) return spec;
  const pattern = seriesPattern(spec);
  if (!pattern) throw new VmError(`--kernel ${spec} is neither a series such as 6.1 or 6.12 nor a version such as 6.1.0-56-amd64.`, 64);
  let offered = aptKernelVersions(pattern);
  if (!offered.length && refreshApt && isRoot()) {
    log('apt knows no such kernel yet: apt-get update');
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore' });
    offered = aptKernelVersions(pattern);
  }
  if (offered.length) return offered[offered.length - 1];
  const cached = cachedVersions(pattern);
  if (cached.length) return cached[cached.length - 1];
  throw new VmError(`apt offers no Debian kernel of the ${spec} series (no package linux-image-${spec}…-amd64), and none is cached in ${CACHE_DIR}.`, 69);
}

/**
 * Finds the compressed kernel inside a bzImage from its boot header (setup_sects at 0x1f1,
 * payload_offset/payload_length at 0x248/0x24c, counted from the protected-mode code) and
 * names its compression from the payload's magic. The payload ends with the 4-byte
 * little-endian size of the uncompressed kernel, which the kernel's build appends.
 */
export function bzImagePayload(bz) {
  if (bz.toString('latin1', 0x202, 0x206) !== 'HdrS') throw new VmError('This vmlinuz has no Linux boot header (HdrS).', 65);
  const setupSects = bz[0x1f1] || 4;
  const start = (setupSects + 1) * 512 + bz.readUInt32LE(0x248);
  const length = bz.readUInt32LE(0x24c);
  const payload = bz.subarray(start, start + length);
  const magic = payload.subarray(0, 6);
  let format;
  if (magic.equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) format = 'xz';
  else if (magic.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) format = 'zstd';
  else if (magic[0] === 0x1f && magic[1] === 0x8b) format = 'gzip';
  else throw new VmError(`This vmlinuz's payload is compressed in a way the runner does not know (magic ${magic.toString('hex')}).`, 65);
  return { format, data: payload.subarray(0, length - 4), size: payload.readUInt32LE(length - 4) };
}

/** The uncompressed ELF vmlinux of a bzImage: qemu boots it through PVH, skipping firmware and decompression. */
export function extractVmlinux(bz) {
  const { format, data, size } = bzImagePayload(bz);
  const argv = { xz: ['xz', '-dc', '--single-stream'], zstd: ['zstd', '-dcq'], gzip: ['gzip', '-dc'] }[format];
  const r = spawnSync(argv[0], argv.slice(1), { input: data, maxBuffer: 1 << 30 });
  if (r.status !== 0 && !(r.stdout?.length === size)) {
    throw new VmError(`${argv[0]} could not decompress the kernel: ${String(r.stderr).trim().split('\n').pop()}`, 65);
  }
  const elf = r.stdout;
  if (elf.readUInt32BE(0) !== 0x7f454c46) throw new VmError('The decompressed kernel is not an ELF file.', 65);
  return { format, elf };
}

function sh(argv, opts = {}) {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.error) throw new VmError(`${argv[0]} could not be run: ${r.error.message}.`);
  if (r.status !== 0) {
    const last = (r.stderr || r.stdout || '').trim().split('\n').pop();
    throw new VmError(`\`${argv.join(' ')}\` failed: ${last}`);
  }
  return r.stdout;
}

/** Where a prepared kernel lives. */
export function kernelPaths(version) {
  const dir = join(CACHE_DIR, version);
  return {
    dir,
    vmlinux: join(dir, 'vmlinux'),
    modules: join(dir, 'root', 'lib', 'modules', version),
    root: join(dir, 'root'),
    config: join(dir, `config-${version}`),
    ready: join(dir, 'ready.json'),
  };
}

/**
 * Downloads, unpacks and readies one kernel in the cache (once): the ELF vmlinux, the
 * modules uncompressed (busybox insmod reads only plain .ko) with a fresh modules.dep.
 */
export function prepareKernel(version, { log = () => {} } = {}) {
  const p = kernelPaths(version);
  if (existsSync(p.ready)) return p;
  if (!isRoot()) throw new VmError(`Kernel ${version} is not in ${CACHE_DIR} yet: prepare it as root (node test/vm/run.mjs prepare --kernel ${version}).`, 77);
  mkdirSync(CACHE_DIR, { recursive: true });
  const t0 = Date.now();
  const tmp = mkdtempSync(join(CACHE_DIR, `.${version}.`));
  try {
    const pkg = `linux-image-${version}`;
    log(`downloading ${pkg}`);
    sh(['apt-get', 'download', '-q', '-o', 'APT::Sandbox::User=root', pkg], { cwd: tmp });
    const deb = readdirSync(tmp).find((f) => f.endsWith('.deb'));
    if (!deb) throw new VmError(`apt-get download ${pkg} left no .deb file.`);
    const root = join(tmp, 'root');
    log(`unpacking ${deb}`);
    sh(['dpkg-deb', '-x', join(tmp, deb), root]);
    const vmlinuz = join(root, 'boot', `vmlinuz-${version}`);
    if (!existsSync(vmlinuz)) throw new VmError(`${deb} has no boot/vmlinuz-${version}.`);
    const { format, elf } = extractVmlinux(readFileSync(vmlinuz));
    writeFileSync(join(tmp, 'vmlinux'), elf);
    log(`vmlinux: ${(elf.length / 1e6).toFixed(0)} MB from a ${format} payload`);
    renameSync(join(root, 'boot', `config-${version}`), join(tmp, `config-${version}`));
    rmSync(join(root, 'boot'), { recursive: true, force: true });
    rmSync(join(root, 'usr'), { recursive: true, force: true });
    rmSync(join(tmp, deb));
    const mods = join(root, 'lib', 'modules', version);
    if (!existsSync(mods)) throw new VmError(`${deb} has no lib/modules/${version}.`);
    for (const [ext, tool] of [['.ko.xz', ['xz', '-d']], ['.ko.zst', ['zstd', '-d', '-q', '--rm']], ['.ko.gz', ['gzip', '-d']]]) {
      const files = sh(['find', mods, '-name', `*${ext}`]).split('\n').filter(Boolean);
      if (!files.length) continue;
      log(`uncompressing ${files.length} ${ext} modules`);
      for (let i = 0; i < files.length; i += 500) sh([...tool, ...files.slice(i, i + 500)]);
    }
    sh(['depmod', '-b', root, version]);
    writeFileSync(join(tmp, 'ready.json'), JSON.stringify({ version, package: pkg, deb, payload: format, preparedAt: new Date().toISOString() }, null, 2) + '\n');
    try {
      renameSync(tmp, p.dir);
    } catch (e) {
      if (!existsSync(p.ready)) throw e; // another run prepared it meanwhile: keep theirs
      rmSync(tmp, { recursive: true, force: true });
    }
    log(`kernel ${version} ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (${p.dir})`);
    return p;
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

// ---------------------------------------------------------------------------------------
// initramfs: busybox, the modules that reach the root (virtio, 9p, overlay), stage 1

/** modules the initramfs loads, with their dependencies resolved by modprobe --show-depends */
const BOOT_MODULES = ['virtio_pci', '9pnet_virtio', '9p', 'overlay', 'virtio_rng'];

/** the .ko files (absolute, in load order) that BOOT_MODULES need on this kernel; built-ins are left out */
export function bootModuleFiles(paths, version) {
  const out = [];
  for (const m of BOOT_MODULES) {
    const r = spawnSync('modprobe', ['-d', paths.root, '-S', version, '--show-depends', m], { encoding: 'utf8' });
    if (r.status !== 0) throw new VmError(`Kernel ${version} has no module ${m} (modprobe: ${String(r.stderr).trim()}).`, 71);
    for (const line of r.stdout.split('\n')) {
      const f = /^insmod (\S+)/.exec(line)?.[1];
      if (f && !out.includes(f)) out.push(f);
    }
  }
  return out;
}

/**
 * A newc ("070701") cpio archive. entries: { name, mode, data?, rdev? }; mode carries the
 * file type bits (0o100000 file, 0o040000 directory, 0o020000 char device, 0o120000 link).
 */
export function cpioNewc(entries) {
  const parts = [];
  const hex = (n) => n.toString(16).padStart(8, '0');
  const pad = (len) => Buffer.alloc((4 - (len % 4)) % 4);
  let ino = 1;
  for (const e of [...entries, { name: 'TRAILER!!!', mode: 0, data: Buffer.alloc(0) }]) {
    const data = e.data ? Buffer.from(e.data) : Buffer.alloc(0);
    const name = Buffer.from(e.name + '\0');
    const rdev = e.rdev ?? [0, 0];
    const fields = [e.name === 'TRAILER!!!' ? 0 : ino++, e.mode, 0, 0, e.mode & 0o040000 ? 2 : 1, 0, data.length, 0, 0, rdev[0], rdev[1], name.length, 0];
    const header = Buffer.from('070701' + fields.map(hex).join(''), 'latin1');
    parts.push(header, name, pad(header.length + name.length), data, pad(data.length));
  }
  return Buffer.concat(parts);
}

/** The initramfs for one kernel, built once and cached under a hash of everything it holds. */
export function prepareInitramfs(paths, version, { log = () => {} } = {}) {
  const init = readFileSync(join(HERE, 'guest', 'init'));
  const busybox = readFileSync(BUSYBOX);
  const files = bootModuleFiles(paths, version);
  const mods = files.map((f) => ({ name: basename(f), data: readFileSync(f) }));
  const h = createHash('sha256').update(init).update(busybox);
  for (const m of mods) h.update(m.name).update(m.data);
  const file = join(paths.dir, `initramfs-${h.digest('hex').slice(0, 16)}.cpio`);
  if (existsSync(file)) return file;
  const dirs = ['bin', 'dev', 'proc', 'sys', 'lower', 'rw', 'newroot', 'modules'];
  const entries = [
    ...dirs.map((d) => ({ name: d, mode: 0o040755 })),
    { name: 'dev/console', mode: 0o020600, rdev: [5, 1] },
    { name: 'bin/busybox', mode: 0o100755, data: busybox },
    { name: 'init', mode: 0o100755, data: init },
    { name: 'modules/order', mode: 0o100644, data: mods.map((m) => m.name).join('\n') + '\n' },
    ...mods.map((m) => ({ name: `modules/${m.name}`, mode: 0o100644, data: m.data })),
  ];
  const tmp = `${file}.${process.pid}`;
  writeFileSync(tmp, cpioNewc(entries));
  renameSync(tmp, file);
  log(`initramfs: ${basename(file)} (${mods.map((m) => m.name.replace(/\.ko$/, '')).join(' ')})`);
  return file;
}

// ---------------------------------------------------------------------------------------
// Running one command

/** single-quotes a word for sh */
export function shq(s) {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${String(s).replace(/'/g, `'\\''`)}'`;
}

const GUEST_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** reads what a file gained since `offset` */
function readFrom(path, offset) {
  let fd;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const size = statSync(path).size;
    if (size <= offset) return null;
    const buf = Buffer.alloc(size - offset);
    const n = readSync(fd, buf, 0, buf.length, offset);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/**
 * Boots `kernel` (a series such as 6.1 or an exact version) and runs `argv` in the guest,
 * in `cwd` (default: this process's), as root with a plain environment plus `env`.
 *
 * Resolves to { stdout, stderr, exitCode, version, bootMs, totalMs, timedOut, outDir, console }.
 * exitCode is the command's; null when the guest stopped without one (then `error` says why).
 * The command may leave files in $MESH_TRACE_VM_OUT; they are in `outDir` on the host until
 * `cleanup()` is called (run.mjs does that unless --keep).
 */
export async function runInVm({
  kernel = '6.1', argv, cwd = process.cwd(), env = {}, timeoutS = DEFAULT_TIMEOUT_S, memMB = 1024, cpus = 2,
  onStdout = null, onStderr = null, log = () => {}, installTools = true,
}) {
  if (!argv?.length) throw new VmError('No command to run in the guest (put it after --).', 64);
  ensureTools({ install: installTools, log });
  const version = resolveKernel(kernel, { log });
  const paths = prepareKernel(version, { log });
  const initrd = prepareInitramfs(paths, version, { log });

  const work = mkdtempSync(join(tmpdir(), 'mesh-trace-vm-'));
  const share = join(work, 'share');
  const out = join(share, 'out');
  mkdirSync(out, { recursive: true });
  const consoleLog = join(work, 'console.log');
  const guestEnv = {
    PATH: `${dirname(process.execPath)}:${GUEST_PATH}`,
    HOME: '/root',
    TERM: 'dumb',
    LANG: 'C.UTF-8',
    ...(process.env.CI ? { CI: process.env.CI } : {}),
    MESH_TRACE_VM: version,
    MESH_TRACE_VM_OUT: '/run/vm/out',
    ...env,
  };
  writeFileSync(join(share, 'stage2.sh'), readFileSync(join(HERE, 'guest', 'stage2.sh')));
  writeFileSync(
    join(share, 'params'),
    [`VM_VERSION=${shq(version)}`, `VM_MODULES=${shq(paths.modules)}`, `VM_CWD=${shq(cwd)}`].join('\n') + '\n',
  );
  writeFileSync(
    join(share, 'cmd.sh'),
    Object.entries(guestEnv).map(([k, v]) => `export ${k}=${shq(v)}`).join('\n') + `\ncd ${shq(cwd)} || exit 125\nexec ${argv.map(shq).join(' ')}\n`,
  );

  // apparmor=0: Debian's kernels enable AppArmor, and dockerd then insists on loading its
  // docker-default profile with apparmor_parser, which this host's userland (the guest's
  // root) does not have, so no container could start in a guest
  const append = ['console=ttyS0', 'quiet', 'mitigations=off', 'apparmor=0', 'panic=-1', 'oops=panic', 'rdinit=/init'].join(' ');
  const qemuArgs = [
    '-machine', 'q35', '-accel', 'tcg,thread=multi', '-cpu', 'max', '-smp', String(cpus), '-m', String(memMB),
    '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-kernel', paths.vmlinux, '-initrd', initrd, '-append', append,
    '-chardev', `file,id=con,path=${consoleLog}`, '-serial', 'chardev:con',
    '-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
    '-virtfs', `local,path=${share},mount_tag=xfer,security_model=none`,
    '-device', 'virtio-rng-pci',
  ];
  const t0 = Date.now();
  const qemu = spawn('qemu-system-x86_64', qemuArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  let qemuOut = '';
  qemu.stdout.on('data', (d) => (qemuOut += d));
  qemu.stderr.on('data', (d) => (qemuOut += d));
  let timedOut = false;
  let bootMs = null;
  let guestBootS = null;
  const offsets = { stdout: 0, stderr: 0 };
  const chunks = { stdout: [], stderr: [] };
  const sinks = { stdout: onStdout, stderr: onStderr };
  const pump = () => {
    if (bootMs === null && existsSync(join(out, 'ready'))) {
      bootMs = Date.now() - t0;
      guestBootS = Number(readFileSync(join(out, 'ready'), 'utf8').trim()) || null;
      log(`booted ${version} in ${(bootMs / 1000).toFixed(1)} s (guest uptime ${guestBootS ?? '?'} s)`);
    }
    for (const k of ['stdout', 'stderr']) {
      const b = readFrom(join(out, k), offsets[k]);
      if (!b) continue;
      offsets[k] += b.length;
      chunks[k].push(b);
      sinks[k]?.(b);
    }
  };
  const poll = setInterval(pump, 200);
  const kill = () => qemu.kill('SIGKILL');
  const timer = setTimeout(() => {
    timedOut = true;
    log(`timeout: the guest ran longer than ${timeoutS} s; killing qemu`);
    kill();
  }, timeoutS * 1000);
  const onSignal = () => kill();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const qemuStatus = await new Promise((resolve) => {
    qemu.on('error', (e) => resolve({ error: e }));
    qemu.on('exit', (code, signal) => resolve({ code, signal }));
  });
  clearTimeout(timer);
  clearInterval(poll);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  pump();
  const totalMs = Date.now() - t0;
  const exitFile = join(out, 'exit');
  const exitCode = existsSync(exitFile) ? Number(readFileSync(exitFile, 'utf8').trim()) : null;
  const consoleText = existsSync(consoleLog) ? readFileSync(consoleLog, 'utf8') : '';
  let error = null;
  if (qemuStatus.error) error = `qemu could not be started: ${qemuStatus.error.message}.`;
  else if (timedOut) error = `The command did not finish within ${timeoutS} s, so qemu was killed.`;
  else if (exitCode === null) {
    const why = consoleText.match(/mesh-trace-vm: .*/g)?.pop() || consoleText.match(/Kernel panic.*/)?.[0] || qemuOut.trim().split('\n').pop() || 'no message';
    error = `The guest stopped before the command finished (${why.trim()}).`;
  }
  return {
    version, exitCode, timedOut, error, bootMs, guestBootS, totalMs,
    stdout: Buffer.concat(chunks.stdout).toString('utf8'),
    stderr: Buffer.concat(chunks.stderr).toString('utf8'),
    console: consoleText, qemuOutput: qemuOut, outDir: out,
    cleanup: () => rmSync(work, { recursive: true, force: true }),
  };
}

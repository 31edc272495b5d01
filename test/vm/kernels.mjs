#!/usr/bin/env node
// `npm run test:kernels`: the kernel tier (`vitest run test/kernel`) and `mesh-trace doctor
// --json` in a Debian 6.1 and a 6.12 guest under qemu and on this host, then a table of
// hook point × kernel -> rung, and the tests' results, on stdout and in test/vm/compat.md.
//
//   node test/vm/kernels.mjs [--kernels 6.1,6.12] [--no-host | --host-doctor-only]
//                            [--doctor-only] [--modules LIST|none] [--timeout S]
//                            [--out FILE] [--build] [--no-snapshot] [--keep]
//                            [--tests FILE,FILE]   (default: test/kernel and the routing-mesh spec)
//
// Builds happen on the host only (--build runs `npm run build` first; without it the
// existing build/ and dist/ are used). The guests run a snapshot of the working tree
// (copied to /var/tmp/mesh-trace-vm/) so a rebuild on the host during the run cannot
// change what they see. Exit 0 when every kernel tier passed, 1 otherwise.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VmError, ensurePackages, runInVm } from './lib.mjs';
import { compatMarkdown, rungRows, testRows, textTable } from './compat.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** what a Docker Swarm host has loaded: bridges with netfilter, veth, VXLAN overlays, the routing mesh's IPVS */
const DEFAULT_MODULES = ['veth', 'br_netfilter', 'vxlan', 'ip_vs', 'ip_vs_rr'];

function parse(argv) {
  const o = { kernels: ['6.1', '6.12'], host: 'full', doctorOnly: false, modules: DEFAULT_MODULES, timeoutS: 1800, out: join(REPO, 'test', 'vm', 'compat.md'), build: false, snapshot: true, keep: false, tests: ['test/kernel', 'test/docker/routing-mesh.test.ts'] };
  const args = [...argv];
  while (args.length) {
    const a = args.shift();
    const val = () => {
      if (!args.length) throw new VmError(`${a} needs a value.`, 64);
      return args.shift();
    };
    if (a === '--kernels') o.kernels = val().split(',').filter(Boolean);
    else if (a === '--no-host') o.host = 'none';
    else if (a === '--host-doctor-only') o.host = 'doctor';
    else if (a === '--doctor-only') o.doctorOnly = true;
    else if (a === '--modules') {
      const v = val();
      o.modules = v === 'none' ? [] : v.split(',').filter(Boolean);
    } else if (a === '--timeout') o.timeoutS = Number(val());
    else if (a === '--out') o.out = resolve(val());
    else if (a === '--build') o.build = true;
    else if (a === '--no-snapshot') o.snapshot = false;
    else if (a === '--keep') o.keep = true;
    else if (a === '--tests') o.tests = val().split(',').filter(Boolean);
    else if (a === '--help' || a === '-h') {
      process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 14).map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
      process.exit(0);
    } else throw new VmError(`Unknown option ${a}.`, 64);
  }
  if (!Number.isFinite(o.timeoutS) || o.timeoutS <= 0) throw new VmError('--timeout needs a positive number of seconds.', 64);
  return o;
}

const say = (m) => process.stderr.write(`test:kernels: ${m}\n`);

/** a copy of the working tree as built now: sources, dist/, the addon; node_modules linked */
function snapshot() {
  const base = '/var/tmp/mesh-trace-vm';
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, 'snap-'));
  chmodSync(base, 0o755);
  chmodSync(dir, 0o755); // tests run the CLI as nobody too (mkdtemp makes 0700)
  for (const e of readdirSync(REPO)) {
    if (['node_modules', '.git', 'build'].includes(e)) continue;
    cpSync(join(REPO, e), join(dir, e), { recursive: true, verbatimSymlinks: true });
  }
  mkdirSync(join(dir, 'build', 'Release'), { recursive: true });
  cpSync(join(REPO, 'build', 'Release', 'mesh_trace.node'), join(dir, 'build', 'Release', 'mesh_trace.node'));
  // a guest's /tmp is its own tmpfs: a clone under the host's /tmp (as CI may make) would
  // leave the link dangling there, so node_modules is copied then
  if (REPO.startsWith('/tmp/')) cpSync(join(REPO, 'node_modules'), join(dir, 'node_modules'), { recursive: true, verbatimSymlinks: true });
  else symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/** the one command each target runs: modules, doctor into $MESH_TRACE_VM_OUT, then the kernel tier */
function script({ modules, doctorOnly, guest, tests }) {
  const lines = ['set +e', 'out=${MESH_TRACE_VM_OUT:?}'];
  for (const m of modules) lines.push(`modprobe ${m} || echo "test:kernels: modprobe ${m} failed" >&2`);
  lines.push('node bin/mesh-trace.js doctor --json > "$out/doctor.json" 2> "$out/doctor.err"; echo $? > "$out/doctor.rc"');
  if (doctorOnly) lines.push('exit 0');
  else {
    // emulation is 10-45x slower than the host: the per-test limits of vitest.config.ts are raised in guests only
    const limits = guest ? ' --testTimeout=300000 --hookTimeout=300000' : '';
    lines.push(`npx vitest run ${tests.join(' ')}${limits} --reporter=default --reporter=json --outputFile="$out/vitest.json"`);
  }
  return lines.join('\n');
}

function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

function collect(name, outDir, extra) {
  const doctor = readJson(join(outDir, 'doctor.json'));
  const doctorErr = existsSync(join(outDir, 'doctor.err')) ? readFileSync(join(outDir, 'doctor.err'), 'utf8').trim() : '';
  const tests = readJson(join(outDir, 'vitest.json'));
  return { name, doctor, tests, error: doctor ? null : doctorErr.split('\n').pop() || extra.error || 'doctor did not run', ...extra };
}

async function runHost(o, cwd) {
  mkdirSync('/var/tmp/mesh-trace-vm', { recursive: true });
  const outDir = mkdtempSync('/var/tmp/mesh-trace-vm/host-');
  const t0 = Date.now();
  let log = '';
  const code = await new Promise((res) => {
    const p = spawn('sh', ['-c', script({ modules: [], doctorOnly: o.host === 'doctor' || o.doctorOnly, guest: false, tests: o.tests })], {
      cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MESH_TRACE_VM_OUT: outDir },
    });
    p.stdout.on('data', (b) => process.stdout.write(b));
    p.stderr.on('data', (b) => {
      log += b;
      process.stderr.write(b);
    });
    p.on('exit', (c) => res(c ?? 1));
  });
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  const t = collect('host', outDir, { exitCode: code, log, summary: `this machine, ${secs} s, exit ${code}${o.host === 'doctor' ? ' (doctor only)' : ''}` });
  if (!o.keep) rmSync(outDir, { recursive: true, force: true });
  return t;
}

async function runGuest(o, cwd, kernel) {
  const r = await runInVm({
    kernel, cwd, argv: ['sh', '-c', script({ modules: o.modules, doctorOnly: o.doctorOnly, guest: true, tests: o.tests })], timeoutS: o.timeoutS,
    log: (m) => say(`[${kernel}] ${m}`),
    onStdout: (b) => process.stdout.write(b), onStderr: (b) => process.stderr.write(b),
  });
  const boot = r.bootMs === null ? '-' : `${(r.bootMs / 1000).toFixed(1)} s`;
  const t = collect(kernel, r.outDir, {
    exitCode: r.exitCode, log: r.stderr + r.stdout, bootS: r.bootMs === null ? null : r.bootMs / 1000, error: r.error,
    testsError: r.error ?? undefined,
    summary: `${r.version}, boot ${boot}, total ${(r.totalMs / 1000).toFixed(1)} s, ${r.error ? r.error.replace(/\.$/, '') : `exit ${r.exitCode}`}`,
  });
  if (!o.keep) r.cleanup();
  else say(`[${kernel}] kept ${r.outDir}`);
  return t;
}

function git(args) {
  const r = spawnSync('git', args, { cwd: REPO, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '';
}

async function main() {
  const o = parse(process.argv.slice(2));
  if (o.build) {
    say('npm run build (on the host)');
    const b = spawnSync('npm', ['run', 'build'], { cwd: REPO, stdio: 'inherit' });
    if (b.status !== 0) throw new VmError('npm run build failed, so there is nothing to test.', 1);
  }
  for (const f of ['build/Release/mesh_trace.node', 'dist/cli.js']) {
    if (!existsSync(join(REPO, f))) throw new VmError(`${f} is missing: build on the host first (npm run build, or pass --build).`, 69);
  }
  if (process.geteuid?.() !== 0) throw new VmError('test:kernels must run as root (it boots guests and loads BPF programs on the host).', 77);
  // tools the kernel tests call that a minimal host may lack (the guests use the host's)
  ensurePackages(['bpftool', 'iproute2', 'python3', 'ipvsadm'], say);
  const cwd = o.snapshot ? snapshot() : REPO;
  if (o.snapshot) say(`running a snapshot of the working tree: ${cwd}`);
  const targets = [];
  try {
    for (const k of o.kernels) {
      say(`=== kernel ${k} (guest) ===`);
      targets.push(await runGuest(o, cwd, k));
    }
    if (o.host !== 'none') {
      say('=== this host ===');
      targets.push(await runHost(o, cwd));
    }
  } finally {
    if (o.snapshot && !o.keep) rmSync(cwd, { recursive: true, force: true });
  }
  const meta = {
    date: new Date().toISOString().slice(0, 10),
    commit: git(['rev-parse', '--short', 'HEAD']) || '?',
    dirty: git(['status', '--porcelain', '--untracked-files=no']) !== '',
    modules: o.modules,
  };
  process.stdout.write('\n' + textTable(rungRows(targets, 60)) + '\n');
  const tr = testRows(targets);
  if (tr.length > 2) process.stdout.write('\n' + textTable(tr) + '\n');
  for (const t of targets) process.stdout.write(`${t.name}: ${t.summary}\n`);
  writeFileSync(o.out, compatMarkdown(targets, meta) + '\n');
  say(`wrote ${relative(process.cwd(), o.out) || o.out}`);
  const ok = targets.every((t) => t.doctor && (o.doctorOnly || (t.name === 'host' && o.host === 'doctor') || t.exitCode === 0));
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`test:kernels: ${e instanceof VmError ? e.message : e?.stack ?? e}\n`);
    process.exit(e instanceof VmError ? e.code : 70);
  },
);

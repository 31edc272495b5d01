#!/usr/bin/env node
// Runs one command in a Debian kernel under qemu, with this machine's root as the guest's.
//
//   node test/vm/run.mjs --kernel 6.1 -- uname -r
//   node test/vm/run.mjs --kernel 6.12 --timeout 900 -- npx vitest run test/kernel
//   node test/vm/run.mjs prepare --kernel 6.1 --kernel 6.12   # tools, kernels, initramfs; no boot
//
// The command's stdout and stderr are passed through as they come; the runner exits with
// the command's exit code, 124 after a timeout, 125 when the guest could not run it, and
// 64/69/77 for usage, a missing tool, missing privileges. Its own lines go to stderr,
// prefixed "vm:". Files the command writes to $MESH_TRACE_VM_OUT are kept with --keep.
import {
  DEFAULT_TIMEOUT_S, VmError, ensureTools, prepareInitramfs, prepareKernel, resolveKernel, runInVm,
} from './lib.mjs';

const USAGE = `usage: node test/vm/run.mjs [--kernel 6.1|6.12|VERSION] [--timeout S] [--mem MB] [--cpus N]
                          [--env K=V]... [--cwd DIR] [--keep] [--quiet] -- COMMAND [ARG...]
       node test/vm/run.mjs prepare [--kernel SERIES|VERSION]...`;

function parse(argv) {
  const o = { kernels: [], env: {}, timeoutS: DEFAULT_TIMEOUT_S, memMB: 1024, cpus: 2, cwd: process.cwd(), keep: false, quiet: false, prepare: false, cmd: [] };
  const args = [...argv];
  if (args[0] === 'prepare') {
    o.prepare = true;
    args.shift();
  }
  while (args.length) {
    const a = args.shift();
    const val = () => {
      if (!args.length) throw new VmError(`${a} needs a value.`, 64);
      return args.shift();
    };
    const num = () => {
      const v = Number(val());
      if (!Number.isFinite(v) || v <= 0) throw new VmError(`${a} needs a positive number.`, 64);
      return v;
    };
    if (a === '--') {
      o.cmd = args.splice(0);
    } else if (a === '--kernel' || a === '-k') o.kernels.push(val());
    else if (a === '--timeout') o.timeoutS = num();
    else if (a === '--mem') o.memMB = num();
    else if (a === '--cpus') o.cpus = num();
    else if (a === '--cwd') o.cwd = val();
    else if (a === '--keep') o.keep = true;
    else if (a === '--quiet' || a === '-q') o.quiet = true;
    else if (a === '--env') {
      const kv = val();
      const i = kv.indexOf('=');
      if (i < 1) throw new VmError(`--env wants NAME=VALUE, not ${kv}.`, 64);
      o.env[kv.slice(0, i)] = kv.slice(i + 1);
    } else if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE + '\n');
      process.exit(0);
    } else throw new VmError(`Unknown option ${a} (the command goes after --).`, 64);
  }
  if (!o.kernels.length) o.kernels.push('6.1');
  if (!o.prepare && o.kernels.length > 1) throw new VmError('Give one --kernel to run a command (prepare takes several).', 64);
  if (!o.prepare && !o.cmd.length) throw new VmError('No command: put it after --.', 64);
  return o;
}

async function main() {
  const o = parse(process.argv.slice(2));
  const log = (m) => {
    if (!o.quiet) process.stderr.write(`vm: ${m}\n`);
  };
  if (o.prepare) {
    ensureTools({ log });
    for (const k of o.kernels) {
      const v = resolveKernel(k, { log });
      const p = prepareKernel(v, { log });
      const initrd = prepareInitramfs(p, v, { log });
      process.stdout.write(`${v}\t${p.vmlinux}\t${initrd}\n`);
    }
    return 0;
  }
  const r = await runInVm({
    kernel: o.kernels[0], argv: o.cmd, cwd: o.cwd, env: o.env, timeoutS: o.timeoutS, memMB: o.memMB, cpus: o.cpus, log,
    onStdout: (b) => process.stdout.write(b),
    onStderr: (b) => process.stderr.write(b),
  });
  if (r.bootMs === null && !o.quiet) process.stderr.write(`vm: the guest never reached the command; console:\n${r.console.split('\n').slice(-30).join('\n')}\n`);
  log(`${r.version}: ${r.error ? r.error.replace(/\.$/, '') : `exit ${r.exitCode}`}; boot ${r.bootMs === null ? '-' : (r.bootMs / 1000).toFixed(1) + ' s'}, total ${(r.totalMs / 1000).toFixed(1)} s`);
  if (o.keep) log(`kept ${r.outDir} (files from $MESH_TRACE_VM_OUT) and the console log beside it`);
  else r.cleanup();
  if (r.timedOut) return 124;
  return r.exitCode ?? 125;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    if (e instanceof VmError) {
      process.stderr.write(`vm: ${e.message}\n`);
      process.exit(e.code);
    }
    process.stderr.write(`vm: internal error: ${e?.stack ?? e}\n`);
    process.exit(70);
  },
);

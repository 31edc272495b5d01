// Native failures (errno, operation, libbpf/verifier log) -> one clear sentence each.
import { MeshTraceError } from '../errors.js';
import type { NativeFailure } from './native.js';

const EPERM = 1, ENOENT = 2, ESRCH = 3, ENXIO = 6, ENODEV = 19, EINVAL = 22, EACCES = 13, ENOTSUPP = 524, EOPNOTSUPP = 95;

/** the last lines of a verifier log: what it objected to */
export function verifierTail(log: string | undefined, lines = 12): string | undefined {
  if (!log) return undefined;
  const begin = log.lastIndexOf('-- BEGIN PROG LOAD LOG --');
  const body = begin >= 0 ? log.slice(begin) : log;
  return body.trimEnd().split('\n').slice(-lines).join('\n');
}

export function isVerifierRejection(f: { op: string; log?: string }): boolean {
  return f.op === 'load' && !!f.log && f.log.includes('BEGIN PROG LOAD LOG');
}

/** where: e.g. 'device eth0 in netns node1' */
export function nativeError(failure: NativeFailure | (Error & Partial<NativeFailure>), where = ''): MeshTraceError {
  let f: { message: string; errno?: number; op?: string; log?: string } = failure;
  const errno = f.errno ?? 0;
  const op = f.op ?? 'bpf';
  const at = where ? ` (${where})` : '';
  // native Errors arrive as "op: what happened"; the sentence names the op itself
  const what = f.message.startsWith(`${op}: `) ? f.message.slice(op.length + 2) : f.message;
  f = { ...f, message: what };
  if (op === 'setns') {
    return new MeshTraceError('NETNS', `Cannot enter ${where || 'a network namespace'}: ${what}.`, {
      hint: errno === ENOENT ? 'The namespace is gone; it may have been deleted meanwhile.' : 'Entering a namespace needs root (CAP_SYS_ADMIN).',
      errno,
      op,
    });
  }
  if (errno === EPERM || errno === EACCES) {
    if (f.log && isVerifierRejection({ op, log: f.log }) && errno === EACCES) {
      return new MeshTraceError('VERIFIER', `The kernel's verifier rejected a BPF program${at}.`, {
        hint: 'This is a bug in mesh-trace for this kernel; please report it with `mesh-trace doctor --json`.',
        detail: verifierTail(f.log),
        errno,
        op,
      });
    }
    return new MeshTraceError('EPERM', `Not permitted to ${op}${at}: mesh-trace needs root, or CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN.`, {
      hint: 'Run it with sudo.',
      errno,
      op,
      detail: verifierTail(f.log),
    });
  }
  if (op.startsWith('attach') && (errno === ENODEV || errno === ENOENT || errno === ENXIO)) {
    return new MeshTraceError('DEVICE_GONE', `The device vanished while mesh-trace attached to it${at}.`, {
      hint: 'Devices come and go with containers; this one is skipped.',
      errno,
      op,
    });
  }
  if (isVerifierRejection({ op, log: f.log })) {
    return new MeshTraceError('VERIFIER', `The kernel's verifier rejected a BPF program${at}.`, {
      hint: 'This is a bug in mesh-trace for this kernel; please report it with `mesh-trace doctor --json`.',
      detail: verifierTail(f.log),
      errno,
      op,
    });
  }
  if (errno === ESRCH || errno === ENOTSUPP || errno === EOPNOTSUPP || errno === EINVAL) {
    return new MeshTraceError('KERNEL', `The kernel does not support this${at}: ${op}: ${f.message}.`, {
      hint: 'Run `mesh-trace doctor` to see which hook points this kernel allows.',
      errno,
      op,
      detail: f.log,
    });
  }
  return new MeshTraceError(op.startsWith('attach') ? 'ATTACH' : 'LOAD', `${op} failed${at}: ${f.message}.`, {
    hint: 'Run `mesh-trace doctor` to check this kernel.',
    errno,
    op,
    detail: f.log,
  });
}

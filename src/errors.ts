// One typed error for everything a user can be told about: one clear sentence (message),
// what to do about it (hint), and an exit code that means something (sysexits.h values,
// which shell users and scripts already know).

export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  USAGE: 64, // bad command line
  DATA: 65, // bad input file
  NO_INPUT: 66, // input file, device, namespace or container not found
  UNAVAILABLE: 69, // a service (Docker) is not there
  INTERNAL: 70,
  CANT_CREATE: 73, // an output file could not be created
  OS: 71, // the kernel refused or lacks a feature
  IO_ERR: 74, // the output could not be written
  NO_PERM: 77, // not root / no CAP_BPF
  INTERRUPTED: 130,
} as const;

export type ErrorCode =
  | 'EPERM' // no privileges for BPF or namespaces
  | 'NO_BTF' // the kernel has no BTF
  | 'VERIFIER' // the verifier rejected a program
  | 'DEVICE_GONE' // a device vanished mid-attach
  | 'NETNS' // a namespace cannot be entered
  | 'ATTACH' // the kernel refused an attach
  | 'LOAD' // opening/loading an object failed
  | 'USAGE'
  | 'NOT_FOUND'
  | 'BAD_INPUT'
  | 'DOCKER'
  | 'KERNEL'
  | 'OUTPUT' // an output file cannot be created
  | 'IO' // an output file could not be written
  | 'INTERNAL';

const exitFor: Record<ErrorCode, number> = {
  EPERM: ExitCode.NO_PERM,
  NO_BTF: ExitCode.OS,
  VERIFIER: ExitCode.OS,
  DEVICE_GONE: ExitCode.NO_INPUT,
  NETNS: ExitCode.NO_INPUT,
  ATTACH: ExitCode.OS,
  LOAD: ExitCode.OS,
  USAGE: ExitCode.USAGE,
  NOT_FOUND: ExitCode.NO_INPUT,
  BAD_INPUT: ExitCode.DATA,
  DOCKER: ExitCode.UNAVAILABLE,
  KERNEL: ExitCode.OS,
  OUTPUT: ExitCode.CANT_CREATE,
  IO: ExitCode.IO_ERR,
  INTERNAL: ExitCode.INTERNAL,
};

export interface MeshTraceErrorOptions {
  hint?: string;
  errno?: number;
  op?: string;
  detail?: string; // e.g. the tail of the verifier log
  cause?: unknown;
}

export class MeshTraceError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly errno?: number;
  readonly op?: string;
  readonly detail?: string;

  constructor(code: ErrorCode, message: string, opts: MeshTraceErrorOptions = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'MeshTraceError';
    this.code = code;
    this.hint = opts.hint;
    this.errno = opts.errno;
    this.op = opts.op;
    this.detail = opts.detail;
  }

  get exitCode(): number {
    return exitFor[this.code];
  }
}

export function isMeshTraceError(e: unknown): e is MeshTraceError {
  return e instanceof MeshTraceError;
}

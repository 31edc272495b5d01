// What this kernel and this process allow a tracer: read once, shown by `doctor`, used by
// the ladder to explain a skipped rung before even trying it.
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';

export interface KernelFacts {
  release: string;
  btf: boolean;
  /** "none" | "integrity" | "confidentiality" | "unknown (...)" */
  lockdown: string;
  euid: number;
  /** effective capability names relevant to tracing */
  caps: string[];
  privileged: boolean;
  ipvsLoaded: boolean;
  /** modules whose BTF is present (veth, bridge, vxlan, ip_vs): fentry needs it */
  moduleBtf: string[];
}

const CAP = { NET_ADMIN: 12, SYS_ADMIN: 21, PERFMON: 38, BPF: 39 } as const;

export function readCapEff(status: string): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

export function capNames(eff: bigint): string[] {
  return Object.entries(CAP)
    .filter(([, bit]) => (eff >> BigInt(bit)) & 1n)
    .map(([name]) => `CAP_${name}`);
}

/** BPF tracing needs CAP_BPF + CAP_PERFMON (or CAP_SYS_ADMIN), tc/netfilter links CAP_NET_ADMIN, setns CAP_SYS_ADMIN */
export function hasTracingPrivileges(caps: string[]): boolean {
  const has = (c: string) => caps.includes(c);
  return has('CAP_SYS_ADMIN') && has('CAP_NET_ADMIN') && (has('CAP_BPF') || has('CAP_SYS_ADMIN'));
}

export function readLockdown(): string {
  const p = '/sys/kernel/security/lockdown';
  if (!existsSync(p)) return 'unknown (securityfs not mounted)';
  try {
    const m = /\[(\w+)\]/.exec(readFileSync(p, 'utf8'));
    return m ? m[1] : 'unknown';
  } catch (err) {
    return `unknown (${(err as NodeJS.ErrnoException).code})`;
  }
}

export function readKernelFacts(): KernelFacts {
  let eff = 0n;
  try {
    eff = readCapEff(readFileSync('/proc/self/status', 'utf8'));
  } catch {
    /* no /proc: no capabilities known */
  }
  const caps = capNames(eff);
  const moduleBtf = ['veth', 'bridge', 'vxlan', 'ip_vs'].filter((m) => existsSync(`/sys/kernel/btf/${m}`));
  return {
    release: os.release(),
    btf: existsSync('/sys/kernel/btf/vmlinux'),
    lockdown: readLockdown(),
    euid: process.geteuid?.() ?? -1,
    caps,
    privileged: hasTracingPrivileges(caps),
    ipvsLoaded: existsSync('/sys/module/ip_vs') || existsSync('/proc/net/ip_vs'),
    moduleBtf,
  };
}

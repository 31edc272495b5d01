import type { Command } from 'commander';
import { ExitCode } from '../../errors.js';
import { runDoctor, type DoctorReport } from '../../probe/doctor.js';
import { action } from '../run-action.js';
import { collectPairs, parseForcedRungs, RUNG_OPTION_HELP } from '../rung-options.js';
import { style } from '../style.js';

export function formatDoctor(r: DoctorReport, color: boolean): string {
  const s = style(color);
  const k = r.kernel;
  const lines = [
    `${s.bold('kernel')}      ${k.release}`,
    `${s.bold('BTF')}         ${k.btf ? 'yes (/sys/kernel/btf/vmlinux)' : s.red('missing')}${k.moduleBtf.length ? `; modules: ${k.moduleBtf.join(', ')}` : ''}`,
    `${s.bold('lockdown')}    ${k.lockdown}`,
    `${s.bold('privileges')}  ${k.euid === 0 ? 'root' : `uid ${k.euid}`}${k.caps.length ? `: ${k.caps.join(' ')}` : ''}${k.privileged ? '' : s.red(' (not enough to trace)')}`,
    `${s.bold('ip_vs')}       ${k.ipvsLoaded ? 'loaded' : 'not loaded'}`,
    '',
  ];
  const w = Math.max(...r.hooks.map((h) => h.hook.length)) + 2;
  lines.push(s.bold(`${'hook point'.padEnd(w)}rung`));
  for (const h of r.hooks) {
    const rung =
      h.rung === null ? s.red('none') : h.rung === 'derived' ? s.yellow(`derived: ${h.via}`) : s.green(h.reads === 'probe' ? `${h.rung} (without kfuncs)` : h.rung);
    lines.push(`${h.hook.padEnd(w)}${rung}`);
    for (const sk of h.skipped) lines.push(`${' '.repeat(w)}${s.dim(`✗ ${sk.rung}: ${sk.reason}`)}`);
  }
  lines.push('');
  lines.push(r.canTrace ? s.green('mesh-trace can trace on this host.') : s.red(`mesh-trace cannot trace here: ${r.problem}.`));
  return lines.join('\n') + '\n';
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('Check the kernel, BTF, lockdown and privileges, and show the rung chosen for every hook point')
    .option('--json', 'print one JSON object')
    .option('--disable-rung <rung...>', "switch rungs off, e.g. fentry or veth-xmit:fentry", [])
    .option('--rung <hook=rung>', RUNG_OPTION_HELP, collectPairs, [])
    .action(
      action((opts: { json?: boolean; disableRung: string[]; rung: string[] }) => {
        const report = runDoctor({ disabledRungs: opts.disableRung, forcedRungs: parseForcedRungs(opts.rung) });
        process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : formatDoctor(report, !!process.stdout.isTTY && !process.env.NO_COLOR));
        if (report.canTrace) return ExitCode.OK;
        return report.kernel.privileged ? ExitCode.OS : ExitCode.NO_PERM;
      }),
    );
}

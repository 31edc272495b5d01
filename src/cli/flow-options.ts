// The options that pick flows after correlation, shared by every command that reports
// flows (live, replay, export): they cannot be in-kernel filters (flow-filter.ts says why).
import type { Command } from 'commander';

export function addFlowFilterOptions(cmd: Command): Command {
  return cmd
    .option('--container <name>', 'only flows that reach this container (name, task name or id)')
    .option('--service <name>', 'only flows of this service (its tasks, VIPs and published ports)')
    .option('--netns <name...>', 'only flows crossing these namespaces (node/name, name or inode)')
    .option('--flow-timeout <seconds>', 'report a flow after this long without a packet', '5');
}

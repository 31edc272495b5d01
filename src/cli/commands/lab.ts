import type { Command } from 'commander';

// Placeholder until the lab command lands (issue 3).
export function registerLab(_program: Command): void {}

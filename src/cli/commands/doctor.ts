import type { Command } from 'commander';

// Placeholder until the probe engine lands (issue 2).
export function registerDoctor(_program: Command): void {}

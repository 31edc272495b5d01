import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

// The package root, whether running from src/ (tests) or dist/ (installed).
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

export function readVersion(): string {
  try {
    return JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')).version as string;
  } catch {
    return '0.0.0';
  }
}

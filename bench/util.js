import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** the C reference consumer, built against the addon's own skeleton */
export function buildCConsumer() {
  const out = join(root, 'build', 'bench', 'c-consumer');
  const skel = join(root, 'build', 'Release', 'obj', 'gen', 'bpf');
  mkdirSync(dirname(out), { recursive: true });
  execFileSync('gcc', ['-O2', '-I', skel, '-o', out, join(root, 'bench', 'c-consumer.c'), '-lbpf', '-lelf', '-lz', '-lpthread']);
  return out;
}

export function sh(argv, opts = {}) {
  const stdin = opts.input === undefined ? 'ignore' : 'pipe';
  return execFileSync(argv[0], argv.slice(1), { encoding: 'utf8', stdio: [stdin, 'pipe', 'pipe'], ...opts });
}

/** A child process's stdout, asynchronously. Bench clients run this way, never with
 * execFileSync: a blocked event loop would stop the traced runs' consumer and turn the
 * measurement into one of the bench itself. */
export function run(argv) {
  return new Promise((resolve, reject) => {
    const p = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${argv.join(' ')}: exit ${code}: ${err || out}`))));
  });
}

/** the middle value (the mean of the two middle ones for an even count) */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

import { defineConfig } from 'vitest/config';

// Kernel tests create namespaces and attach BPF programs: they must not run in parallel
// with each other (one ring, shared device names), so files run one at a time.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});

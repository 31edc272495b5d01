#!/usr/bin/env node
// The installed entry point: the compiled CLI in dist/.
import('../dist/cli.js').then((m) => m.main(process.argv)).catch((err) => {
  process.stderr.write(`mesh-trace: ${err?.message ?? err}\n`);
  process.exit(70);
});

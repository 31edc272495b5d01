// The compatibility tables of `npm run test:kernels`: hook point × kernel -> the rung that
// `mesh-trace doctor --json` chose (or why none works), and kernel test × kernel -> result.
// Pure functions over the doctor's JSON and vitest's JSON report, so they are unit-tested.

/** a doctor reason cut to what tells kernels apart */
export function shortReason(reason) {
  return String(reason)
    .replace(/^load: the kernel refused to load the BPF programs /, 'load ')
    .replace(/^attach \S+: /, 'attach: ')
    .replace(/\s+/g, ' ')
    .trim();
}

function clip(s, n) {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

/** one cell of the rung table for a hook of one doctor report */
export function rungCell(hook, width = 70) {
  if (!hook) return '?';
  // "probe": the rung's kfunc-free programs loaded (kernels before 6.3)
  if (hook.rung) return hook.reads === 'probe' ? `${hook.rung} (without kfuncs)` : hook.rung;
  const first = hook.skipped?.[0];
  return first ? clip(`none: ${shortReason(first.reason)}`, width) : 'none';
}

/**
 * targets: [{ name, doctor (parsed JSON or null), error (string or null), tests (vitest JSON or null) }]
 * Returns rows of cells, the first row being the header.
 */
export function rungRows(targets, width = 70) {
  const hooks = [];
  for (const t of targets) for (const h of t.doctor?.hooks ?? []) if (!hooks.includes(h.hook)) hooks.push(h.hook);
  const rows = [['hook point', ...targets.map((t) => t.name)]];
  rows.push(['kernel', ...targets.map((t) => t.doctor?.kernel?.release ?? '?')]);
  rows.push(['can trace', ...targets.map((t) => (t.doctor ? (t.doctor.canTrace ? 'yes' : clip(`no: ${t.doctor.problem ?? ''}`, width)) : clip(`no doctor: ${t.error ?? 'not run'}`, width)))]);
  for (const id of hooks) rows.push([id, ...targets.map((t) => (t.doctor ? rungCell(t.doctor.hooks.find((h) => h.hook === id), width) : '-'))]);
  return rows;
}

/** per kernel test (file › name): ✓ passed, ✗ failed, – skipped, blank when not run there */
export function testRows(targets) {
  const names = [];
  const status = targets.map(() => new Map());
  targets.forEach((t, i) => {
    for (const f of t.tests?.testResults ?? []) {
      const file = f.name.replace(/^.*\/test\/(kernel\/)?/, '');
      for (const a of f.assertionResults) {
        const key = `${file} › ${a.fullName}`;
        if (!names.includes(key)) names.push(key);
        status[i].set(key, a.status);
      }
      if (!f.assertionResults.length && f.status === 'failed') {
        const key = `${file} (file)`;
        if (!names.includes(key)) names.push(key);
        status[i].set(key, 'failed');
      }
    }
  });
  const mark = { passed: '✓', failed: '✗', skipped: '–', pending: '–', todo: '–' };
  const rows = [['kernel test', ...targets.map((t) => t.name)]];
  for (const n of names) rows.push([n, ...status.map((m) => (m.has(n) ? mark[m.get(n)] ?? m.get(n) : ''))]);
  rows.push(['passed / failed / skipped', ...targets.map((t) => (t.tests ? `${t.tests.numPassedTests} / ${t.tests.numFailedTests} / ${t.tests.numPendingTests + (t.tests.numTodoTests ?? 0)}` : t.testsError ?? 'not run'))]);
  return rows;
}

/**
 * Errors of whole suites (a failed beforeAll) from vitest's default reporter output: its JSON
 * report marks their tests skipped and leaves the message empty. -> Map "file › describe" -> first line
 */
export function suiteErrors(log) {
  const out = new Map();
  const lines = String(log ?? '').replace(/\x1b\[[0-9;]*m/g, '').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*FAIL\s+(?:\S*\/)?test\/kernel\/(\S+) > ([^>]+)$/.exec(lines[i]);
    if (!m) continue;
    const msg = lines.slice(i + 1).find((l) => l.trim());
    if (msg && !out.has(`${m[1]} › ${m[2].trim()}`)) out.set(`${m[1]} › ${m[2].trim()}`, msg.trim());
  }
  return out;
}

/** first line of every failure, per target, with suite-level errors (a failed beforeAll) included */
export function failures(targets) {
  const out = [];
  for (const t of targets) {
    for (const [suite, message] of suiteErrors(t.log)) out.push({ target: t.name, test: `${suite} (before its tests)`, message });
    for (const f of t.tests?.testResults ?? []) {
      const file = f.name.replace(/^.*\/test\/(kernel\/)?/, '');
      if (f.status === 'failed' && f.message) out.push({ target: t.name, test: `${file} (file)`, message: firstLine(f.message) });
      for (const a of f.assertionResults) {
        if (a.status === 'failed') out.push({ target: t.name, test: `${file} › ${a.fullName}`, message: firstLine(a.failureMessages?.[0] ?? '') });
      }
    }
  }
  return out;
}

function firstLine(s) {
  // vitest's messages start with the error's class and message; strip colours
  return String(s).replace(/\x1b\[[0-9;]*m/g, '').split('\n').find((l) => l.trim()) ?? '';
}

export function markdownTable(rows) {
  const esc = (c) => String(c).replace(/\|/g, '\\|');
  const [head, ...body] = rows;
  return [`| ${head.map(esc).join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...body.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

export function textTable(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => [...String(r[i])].length)));
  return rows.map((r) => r.map((c, i) => String(c).padEnd(widths[i] + (String(c).length - [...String(c)].length))).join('  ').trimEnd()).join('\n');
}

/** every reason a rung was skipped, per target, once each: the detail behind the table's cells */
export function skipNotes(targets) {
  const out = [];
  for (const t of targets) {
    const seen = new Set();
    for (const h of t.doctor?.hooks ?? []) {
      for (const s of h.skipped ?? []) {
        const line = `${s.rung}: ${s.reason}`;
        if (seen.has(line)) continue;
        seen.add(line);
        out.push({ target: t.name, hook: h.hook, rung: s.rung, reason: s.reason });
      }
    }
  }
  return out;
}

/** the whole markdown report */
export function compatMarkdown(targets, meta) {
  const lines = [
    '# mesh-trace on other kernels',
    '',
    `Generated by \`npm run test:kernels\` (test/vm/kernels.mjs) on ${meta.date}, commit ${meta.commit}${meta.dirty ? ' with uncommitted changes' : ''}.`,
    `Guests: Debian kernels under qemu (TCG), the host's root shared read-only; modules loaded before the tests: ${meta.modules.length ? meta.modules.join(', ') : 'none'}.`,
    '',
    '## Hook point × kernel: the rung `mesh-trace doctor --json` chose',
    '',
    markdownTable(rungRows(targets)),
    '',
  ];
  const tr = testRows(targets);
  if (tr.length > 2) {
    lines.push('## Kernel tests (the specs `--tests` named; by default test/kernel and test/docker/routing-mesh.test.ts)', '', markdownTable(tr), '');
    const f = failures(targets);
    if (f.length) {
      lines.push('### Failures', '');
      for (const x of f) lines.push(`- **${x.target}** ${x.test}: \`${x.message.replace(/`/g, "'")}\``);
      lines.push('');
    }
  }
  const notes = skipNotes(targets);
  if (notes.length) {
    lines.push('## Why rungs were skipped', '');
    for (const n of notes) lines.push(`- **${n.target}** ${n.hook} · ${n.rung}: ${n.reason}`);
    lines.push('');
  }
  const runs = targets.filter((t) => t.bootS !== undefined || t.error);
  if (runs.length) {
    lines.push('## Runs', '');
    for (const t of targets) lines.push(`- **${t.name}**: ${t.summary ?? ''}`);
    lines.push('');
  }
  return lines.join('\n');
}

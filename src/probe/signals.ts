// Ctrl-C and SIGTERM end a session cleanly: detach everything, deliver what was read,
// then exit with 128 + signal number as shells expect. A second signal exits at once
// (fd-owned links still vanish with the process; legacy filters are in the ledger).
import type { ProbeSession } from './session.js';

const codes: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

export function closeOnSignals(session: ProbeSession, onClosed?: (signal: string) => void | Promise<void>): () => void {
  let closing = false;
  const handler = (signal: NodeJS.Signals) => {
    if (closing) process.exit(codes[signal] ?? 1);
    closing = true;
    void session
      .close()
      .then(() => onClosed?.(signal))
      .finally(() => process.exit(codes[signal] ?? 1));
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, handler);
  return () => {
    for (const s of signals) process.off(s, handler);
  };
}

// A minimal Docker Engine API client over a unix socket with node:http (`socketPath`):
// the handful of GETs the topology needs and the event stream. No dockerode: it would pull
// in a dozen packages for five requests.
import http from 'node:http';
import { MeshTraceError } from '../errors.js';

export class DockerApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'DockerApiError';
  }
}

export class DockerClient {
  constructor(
    readonly socketPath: string,
    readonly timeoutMs = 5000,
  ) {}

  /** GET a JSON document; rejects with DockerApiError (HTTP status) or the socket's error. */
  get<T = unknown>(path: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const req = http.request({ socketPath: this.socketPath, path, method: 'GET', headers: { Host: 'docker' }, timeout: this.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 500) >= 400) {
            let msg = body;
            try {
              msg = (JSON.parse(body) as { message?: string }).message ?? body;
            } catch {
              /* not JSON */
            }
            return reject(new DockerApiError(res.statusCode ?? 500, msg.trim()));
          }
          try {
            resolve(JSON.parse(body) as T);
          } catch (e) {
            reject(e);
          }
        });
      });
      req.on('timeout', () => req.destroy(new Error(`Docker at ${this.socketPath} did not answer within ${this.timeoutMs} ms`)));
      req.on('error', reject);
      req.end();
    });
  }

  /**
   * Docker's event stream (one JSON object per event) until `signal` aborts. Calls `onEvent`
   * for each; resolves when the stream ends.
   */
  events(onEvent: (e: DockerEvent) => void, signal: AbortSignal, filters?: Record<string, string[]>): Promise<void> {
    const q = filters ? `?filters=${encodeURIComponent(JSON.stringify(filters))}` : '';
    return new Promise((resolve, reject) => {
      const req = http.request({ socketPath: this.socketPath, path: `/events${q}`, method: 'GET', headers: { Host: 'docker' }, signal }, (res) => {
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          buf += c;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
            try {
              onEvent(JSON.parse(line) as DockerEvent);
            } catch {
              /* a partial or odd line: skip it */
            }
          }
        });
        res.on('end', () => resolve());
        res.on('error', (e) => (signal.aborted ? resolve() : reject(e)));
      });
      req.on('error', (e) => (signal.aborted ? resolve() : reject(e)));
      req.end();
    });
  }
}

export interface DockerEvent {
  Type: string; // container, network, service, node, …
  Action: string; // start, die, connect, disconnect, create, destroy, …
  Actor: { ID: string; Attributes?: Record<string, string> };
  time?: number;
}

/** The user-facing failure for a socket that is not there or does not answer. */
export function dockerNotFound(socket: string, cause?: unknown): MeshTraceError {
  return new MeshTraceError('DOCKER', `Docker was not found at ${socket}; showing the kernel view only.`, {
    hint: 'Start dockerd, or point at its socket with --docker PATH.',
    cause,
  });
}

import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FerryConfig } from '#config';
import { configEnv, freePort, registerHooks } from './worker-harness.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const API_MAIN = join(ROOT, 'apps/api/src/main.ts');
const BOOT_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 20_000;

/**
 * A real API process (apps/api/src/main.ts, the production entry point, run from the sources like
 * WorkerProcess), on a port of its own: for tests of what only several processes show, e.g. two API
 * instances behind a balancer sharing the live stream through Redis. Ready once /health/live answers.
 */
export class ApiProcess {
  private constructor(
    private readonly child: ChildProcess,
    private readonly log: WriteStream,
    readonly baseUrl: string,
    readonly logFile: string,
  ) {}

  static async start(config: FerryConfig, options: { logLevel?: string } = {}): Promise<ApiProcess> {
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const env = { ...configEnv(config), PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: baseUrl, LOG_LEVEL: options.logLevel ?? 'warn' };
    const logFile = join(mkdtempSync(join(tmpdir(), 'ferry-api-')), 'api.log');
    const log = createWriteStream(logFile, { flags: 'a' });
    const child = spawn(process.execPath, ['--conditions=ferry-source', '--import', registerHooks(), API_MAIN], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    const api = new ApiProcess(child, log, baseUrl, logFile);
    await api.ready();
    return api;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM (graceful: sockets closed, requests finished), then SIGKILL if it hangs. */
  async stop(): Promise<void> {
    if (this.running) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    await new Promise<void>((resolve) => this.log.end(resolve));
  }

  private async ready(): Promise<void> {
    const deadline = Date.now() + BOOT_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`the API exited while starting${this.tail()}`);
      const ok = await fetch(`${this.baseUrl}/health/live`).then((response) => response.ok, () => false);
      if (ok) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    this.child.kill('SIGKILL');
    throw new Error(`the API did not start within ${BOOT_TIMEOUT_MS} ms${this.tail()}`);
  }

  private tail(): string {
    try {
      return `; log ${this.logFile}:\n${readFileSync(this.logFile, 'utf8').split('\n').slice(-20).join('\n')}`;
    } catch {
      return '';
    }
  }
}

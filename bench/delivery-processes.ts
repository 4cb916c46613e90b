import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';

/**
 * The processes of the delivery benchmark, each from the build (dist/), as a deployment runs them:
 * the provider simulator, the API and the worker. Their logs go to bench/results/delivery-<name>.log.
 */

export interface Running {
  name: string;
  child: ChildProcess;
  /** How it ended, when it has: its exit code or the signal that stopped it. */
  readonly exited: string | undefined;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts `node <script> ...args` and waits until `ready` accepts a line of its stdout (pino JSON),
 * answering what `ready` returned. Fails if it exits first or takes longer than 60 s.
 */
export async function startNode<T>(
  name: string,
  script: string,
  args: string[],
  options: { cwd: string; env: Record<string, string | undefined>; logFile: string; ready: (line: string) => T | undefined; nodeArgs?: string[] },
): Promise<{ running: Running; value: T }> {
  const { running, lines } = spawnNode(name, script, args, options);
  const value = await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 60 s: see ${options.logFile}`)), 60_000);
    running.child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${running.exited}) while starting: see ${options.logFile}`));
    });
    lines.on('line', (line: string) => {
      const found = options.ready(line);
      if (found !== undefined) {
        clearTimeout(timer);
        resolve(found);
      }
    });
  });
  return { running, value };
}

/** Starts `node [...nodeArgs] <script> ...args`, its stdout and stderr into `logFile`. */
export function spawnNode(
  name: string,
  script: string,
  args: string[],
  options: { cwd: string; env: Record<string, string | undefined>; logFile: string; nodeArgs?: string[] },
): { running: Running; lines: ReturnType<typeof createInterface> } {
  const log = createWriteStream(options.logFile);
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), script, ...args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr?.pipe(log, { end: false });
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = signal ?? `code ${code}`;
  });
  const running: Running = {
    name,
    child,
    get exited() {
      return exited;
    },
  };
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => log.write(`${line}\n`));
  return { running, lines };
}

/** Polls `url` until it answers 2xx (the API's /health/live). */
export async function waitForHttp(url: string, running: Running, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (running.exited !== undefined) throw new Error(`${running.name} exited (${running.exited}) while starting`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${running.name} did not answer ${url} within ${timeoutMs} ms`);
}

/** SIGTERM, then SIGKILL after 10 s. */
export async function stop(running: Running): Promise<void> {
  const { child } = running;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Reads a pino JSON line, or nothing. */
export function logLine(line: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(line);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

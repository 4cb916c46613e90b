/* global AbortSignal */
// `npm start`: build, run the provider simulator, the API and the worker, seed a demo workspace whose
// channel inboxes point at the simulator (scripts/demo-seed.mjs), and print how to watch it. Needs
// PostgreSQL and Redis running; the database is created and migrated by the apps themselves. Every
// setting comes from the environment exactly as in production (see README), with two development
// defaults: ALLOW_PRIVATE_URLS=true (the demo's inboxes point at 127.0.0.1) and PUBLIC_URL = the API's
// local address (where the simulator posts the providers' webhooks).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { DEMO, seedDemo } from './demo-seed.mjs';

const root = resolve(import.meta.dirname, '..');
process.chdir(root);

const READY_TIMEOUT_MS = 120_000;
const SIMULATOR_READY_TIMEOUT_MS = 30_000;
const SIMULATOR_ENTRY = 'dist/apps/simulator/src/main.js';

const say = (line) => console.log(`[start] ${line}`);
const warn = (line) => console.warn(`[start] warning: ${line}`);

const children = new Map();
let stopping = null;

async function main() {
  say(`demo login, once the API is up: ${DEMO.email} / ${DEMO.password}`);
  const simPorts = simulatorPorts();
  say('building (npm run build)');
  const built = await run(npmCommand(), [...npmArgs(), 'run', 'build', '--silent']);
  if (built !== 0) fail(`the build failed (exit code ${built})`);

  const config = await developmentConfig();
  const base = `http://${reachableHost(config.http.host)}:${config.http.port}`;

  // The simulator first: it is optional, and a port taken by something else stops only the demo channels.
  let simulator = null;
  if (!existsSync(SIMULATOR_ENTRY)) warn(`${SIMULATOR_ENTRY} is missing: no provider simulator, no channel demo`);
  else {
    const args = ['--port', String(simPorts.port), '--smtp-port', String(simPorts.smtpPort), '--host', '127.0.0.1', '--log-level', config.log.level];
    simulator = startService({ name: 'simulator', entry: SIMULATOR_ENTRY, args, optional: true });
  }
  startService({ name: 'api', entry: 'dist/apps/api/src/main.js' });
  startService({ name: 'worker', entry: 'dist/apps/worker/src/main.js' });

  const simBaseUrl = `http://127.0.0.1:${simPorts.port}`;
  const [, simReady] = await Promise.all([waitForReady(base), simulator ? waitForSimulator(simBaseUrl, simulator, simPorts) : false]);
  say('API ready; seeding the demo workspace');

  const sim = simReady ? { baseUrl: simBaseUrl, smtpHost: '127.0.0.1', smtpPort: simPorts.smtpPort } : null;
  let demo = null;
  try {
    demo = await seedDemo({
      apiBase: base,
      sim,
      allowPrivateUrls: config.allowPrivateUrls,
      stateFile: resolve(process.env.FERRY_STATE_DIR || '.ferry', 'demo.json'),
      say,
      warn,
    });
  } catch (error) {
    warn(`seeding stopped: ${error.stack ?? error.message}`);
  }
  printSummary(config.http.publicUrl, sim, demo);
}

/** SIMULATOR_PORT and SIMULATOR_SMTP_PORT: the simulator's HTTP and SMTP ports (it is no part of Ferry's config). */
function simulatorPorts() {
  const read = (name, fallback) => {
    const raw = process.env[name];
    if (raw === undefined || raw === '') return fallback;
    const port = Number(raw);
    if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`${name} must be a port number (1-65535), got "${raw}"`);
    return port;
  };
  return { port: read('SIMULATOR_PORT', 3900), smtpPort: read('SIMULATOR_SMTP_PORT', 2525) };
}

/**
 * The config the apps will load (the built config module validates it: a bad value stops here, named),
 * with the demo's development defaults put into the environment the children inherit.
 */
async function developmentConfig() {
  const { loadConfig } = await import(pathToFileURL(resolve(root, 'dist/libs/config/src/index.js')).href);
  if (!process.env.ALLOW_PRIVATE_URLS) {
    process.env.ALLOW_PRIVATE_URLS = 'true';
    say('ALLOW_PRIVATE_URLS=true for this run: the demo inboxes point at the simulator on 127.0.0.1 (set it to false to refuse private addresses)');
  }
  try {
    let config = loadConfig();
    if (!process.env.PUBLIC_URL) {
      process.env.PUBLIC_URL = `http://${reachableHost(config.http.host)}:${config.http.port}`;
      config = loadConfig();
    }
    return config;
  } catch (error) {
    fail(error.message);
  }
}

function npmCommand() {
  return process.env.npm_execpath ? process.execPath : 'npm';
}

function npmArgs() {
  return process.env.npm_execpath ? [process.env.npm_execpath] : [];
}

function run(command, args) {
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, { stdio: 'inherit', shell: process.platform === 'win32' && command === 'npm' });
    child.on('exit', (code, signal) => resolvePromise(code ?? (signal ? 1 : 0)));
    child.on('error', (error) => fail(`cannot run ${command}: ${error.message}`));
  });
}

/** Starts a child; one that exits stops the others, unless it is optional (the simulator). */
function startService({ name, entry, args = [], optional = false }) {
  // Own process group, so a terminal's Ctrl-C reaches each child once, forwarded by us.
  // As the image runs them (docker/Dockerfile): a larger young generation, unless NODE_OPTIONS says otherwise.
  const env = { ...process.env, NODE_OPTIONS: process.env.NODE_OPTIONS ?? '--max-semi-space-size=32' };
  const child = spawn(process.execPath, [entry, ...args], { stdio: 'inherit', env, detached: true });
  children.set(name, child);
  child.on('exit', (code, signal) => {
    children.delete(name);
    if (stopping) {
      // Exiting from the signal we forwarded is a clean stop too.
      if (!(code === 0 || signal === stopping.signal)) stopping.clean = false;
      if (children.size === 0) process.exit(stopping.clean ? 0 : 1);
      return;
    }
    if (optional) {
      warn(`${name} exited (${signal ?? `code ${code}`}); Ferry keeps running without it`);
      return;
    }
    console.error(`[start] ${name} exited (${signal ?? `code ${code}`}); stopping the others`);
    stop('SIGTERM', false);
  });
  return child;
}

function stop(signal, clean = true) {
  if (stopping) {
    // A second Ctrl-C: do not wait any longer.
    for (const child of children.values()) child.kill('SIGKILL');
    process.exit(1);
  }
  stopping = { signal, clean };
  if (children.size === 0) process.exit(clean ? 0 : 1);
  for (const child of children.values()) child.kill(signal);
}

process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
// Whatever ends this process (an error included), the services do not outlive it.
process.on('exit', () => {
  for (const child of children.values()) child.kill('SIGTERM');
});

function fail(message) {
  console.error(`[start] ${message}`);
  process.exit(1); // the exit handler stops the services
}

function reachableHost(host) {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

async function probe(url) {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    return { ok: response.ok, last: `${response.status} ${await response.text()}` };
  } catch (error) {
    return { ok: false, last: error.cause?.code ?? error.message };
  }
}

async function waitForReady(base) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (stopping) return new Promise(() => undefined); // shutting down: the exit handlers finish
    const answer = await probe(`${base}/health/ready`);
    if (answer.ok) return;
    last = answer.last;
    await sleep(500);
  }
  fail(`the API was not ready at ${base}/health/ready within ${READY_TIMEOUT_MS / 1000}s (last: ${last})`);
}

/** True once the simulator answers; false (with the reason) if it exited or never answered. */
async function waitForSimulator(baseUrl, child, ports) {
  const deadline = Date.now() + SIMULATOR_READY_TIMEOUT_MS;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      warn(`the provider simulator did not start (port ${ports.port} or ${ports.smtpPort} in use? set SIMULATOR_PORT and SIMULATOR_SMTP_PORT): no channel demo`);
      return false;
    }
    const answer = await probe(`${baseUrl}/_sim/health`);
    if (answer.ok) return true;
    last = answer.last;
    await sleep(250);
  }
  warn(`the provider simulator did not answer at ${baseUrl}/_sim/health within ${SIMULATOR_READY_TIMEOUT_MS / 1000}s (last: ${last}): no channel demo`);
  return false;
}

function printSummary(publicUrl, sim, demo) {
  if (stopping) return;
  const key = demo?.apiKey ?? '<API key>';
  const lines = [
    '',
    '  Ferry is running.',
    `  API docs (Swagger UI): ${publicUrl}/docs`,
    `  Demo login:            ${DEMO.email} / ${DEMO.password}${demo ? '' : '  (not seeded: see the warnings above)'}`,
    `  Demo API key:          ${demo?.apiKey ?? '(none: see the warnings above)'}`,
    `  Provider simulator:    ${sim ? `${sim.baseUrl} (SMTP ${sim.smtpHost}:${sim.smtpPort})` : '(not running: see the warnings above)'}`,
  ];
  const channels = demo?.channels ?? [];
  if (channels.length > 0) {
    lines.push('', '  Demo conversations (customer -> provider simulator -> Ferry; agent reply -> worker -> simulator):');
    const seen = new Map();
    for (const c of channels) {
      const same = seen.get(c.conversationId);
      const reply = c.reply ? `reply ${c.reply.status}` : same ? `same conversation as ${same}` : 'no reply yet';
      lines.push(`    ${c.channel.padEnd(9)} ${c.customer.padEnd(16)} conversation ${c.conversationId}  ${reply}`);
      if (!same) seen.set(c.conversationId, c.channel);
    }
    const replied = channels.find((c) => c.reply);
    const writer = channels.find((c) => c.channel === 'telegram') ?? channels[0];
    lines.push(
      '',
      '  Watch it:',
      `    curl -H "Authorization: Bearer ${key}" ${publicUrl}/v1/conversations`,
      ...(replied ? [`    curl -H "Authorization: Bearer ${key}" ${publicUrl}/v1/messages/${replied.reply.id}   # a reply and its delivery attempts`] : []),
      `    curl ${sim.baseUrl}/_sim/${replied?.channel ?? 'whatsapp'}/sent   # what the simulator received since it started (also sms, line, email, ...)`,
      `  Write as a ${writer.channel} customer:`,
      `    curl -X POST ${sim.baseUrl}/_sim/${writer.channel}/inbound -H 'content-type: application/json' \\`,
      `      -d '{"account":"${writer.simAccount}","message":{"from":"${writer.from}","text":"Any news?"}}'`,
    );
  } else {
    lines.push(`  Try: curl -H "Authorization: Bearer ${key}" ${publicUrl}/v1/conversations`);
  }
  lines.push('  Stop with Ctrl-C.', '');
  console.log(lines.join('\n'));
}

main().catch((error) => fail(error.stack ?? String(error)));

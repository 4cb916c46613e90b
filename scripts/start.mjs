// `npm start`: build, run the API and the worker, seed a demo workspace through the public API, and
// print how to log in. Needs PostgreSQL and Redis running; the database is created and migrated by
// the apps themselves. Every setting comes from the environment exactly as in production (see README).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = resolve(import.meta.dirname, '..');
process.chdir(root);

const DEMO = {
  email: 'demo@ferry.local',
  password: 'ferry-demo-password',
  name: 'Dana Demo',
  workspaceName: 'Demo Travel Co.',
  apiKeyName: 'Demo key',
  inboxName: 'Demo API channel',
};

/*
 * The processes `npm start` runs, each from the one build in dist/. Later issues add theirs here:
 * the dashboard (apps/dashboard, built and served by the API) and the provider simulators
 * (apps/simulator) that the demo's channel inboxes will point at.
 */
const SERVICES = [
  { name: 'api', entry: 'dist/apps/api/src/main.js' },
  { name: 'worker', entry: 'dist/apps/worker/src/main.js' },
];

const READY_TIMEOUT_MS = 120_000;

const say = (line) => console.log(`[start] ${line}`);
const warn = (line) => console.warn(`[start] warning: ${line}`);

const children = new Map();
let stopping = null;

async function main() {
  say(`demo login, once the API is up: ${DEMO.email} / ${DEMO.password}`);
  say('building (npm run build)');
  const built = await run(npmCommand(), [...npmArgs(), 'run', 'build', '--silent']);
  if (built !== 0) fail(`the build failed (exit code ${built})`);

  // The built config module validates the environment as the apps will: a bad value stops here, named.
  const { loadConfig } = await import(pathToFileURL(resolve(root, 'dist/libs/config/src/index.js')).href);
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    fail(error.message);
  }

  for (const service of SERVICES) startService(service);
  const base = `http://${reachableHost(config.http.host)}:${config.http.port}`;
  await waitForReady(base);
  say('API ready; seeding the demo workspace');

  let demo = null;
  try {
    demo = await seed(base);
  } catch (error) {
    warn(`seeding stopped: ${error.message}`);
  }
  printSummary(config.http.publicUrl, demo);
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

function startService({ name, entry }) {
  // Own process group, so a terminal's Ctrl-C reaches each child once, forwarded by us.
  const child = spawn(process.execPath, [entry], { stdio: 'inherit', env: process.env, detached: true });
  children.set(name, child);
  child.on('exit', (code, signal) => {
    children.delete(name);
    if (stopping) {
      // Exiting from the signal we forwarded is a clean stop too.
      if (!(code === 0 || signal === stopping.signal)) stopping.clean = false;
      if (children.size === 0) process.exit(stopping.clean ? 0 : 1);
      return;
    }
    console.error(`[start] ${name} exited (${signal ?? `code ${code}`}); stopping the others`);
    stop('SIGTERM', false);
  });
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

async function waitForReady(base) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (stopping) return new Promise(() => undefined); // shutting down: the exit handlers finish
    try {
      const response = await fetch(`${base}/health/ready`);
      if (response.ok) return;
      last = `${response.status} ${await response.text()}`;
    } catch (error) {
      last = error.cause?.code ?? error.message;
    }
    await new Promise((done) => setTimeout(done, 500));
  }
  fail(`the API was not ready at ${base}/health/ready within ${READY_TIMEOUT_MS / 1000}s (last: ${last})`);
}

// ---- the demo workspace, created through the public API only, as an integrator would ----

/** A client of the public API that reports routes not built yet as `missing` instead of failing. */
function client(base) {
  return async (method, path, { token, body, headers } = {}) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = text;
    }
    const missing = response.status === 404 && parsed?.code === 'route.not_found';
    return { status: response.status, body: parsed, missing };
  };
}

function describe(response) {
  const body = response.body;
  return `${response.status}${body?.code ? ` ${body.code}` : ''}${body?.detail ? `: ${body.detail}` : ''}`;
}

async function seed(base) {
  const api = client(base);
  const session = await signUpOrLogIn(api);
  if (!session) return null;
  const { token, workspaceId } = session;
  const apiKey = await demoApiKey(api, token, workspaceId);
  const inbox = await demoInbox(api, token);
  if (inbox) await demoConversations(api, apiKey ?? token, token, inbox);
  return { apiKey, workspaceId };
}

async function signUpOrLogIn(api) {
  const signup = await api('POST', '/v1/auth/signup', {
    body: { workspaceName: DEMO.workspaceName, name: DEMO.name, email: DEMO.email, password: DEMO.password },
  });
  let session = signup;
  if (signup.missing) {
    warn('POST /v1/auth/signup is not built yet: no demo workspace');
    return null;
  }
  if (signup.status === 409 && signup.body?.code === 'auth.email_taken') {
    session = await api('POST', '/v1/auth/login', { body: { email: DEMO.email, password: DEMO.password } });
    if (session.status < 200 || session.status > 299) {
      warn(`the demo user exists but logging in failed (${describe(session)}): no demo data`);
      return null;
    }
    say(`logged in as the existing demo user ${DEMO.email}`);
  } else if (signup.status === 201) {
    say(`signed up ${DEMO.email} with workspace "${DEMO.workspaceName}"`);
  } else {
    warn(`sign-up failed (${describe(signup)}): no demo data`);
    return null;
  }
  return { token: session.body.accessToken, workspaceId: session.body.workspace?.id };
}

/**
 * An API key is shown once, so the demo's is kept in the git-ignored state directory and reused while
 * it still works; a new one is made for a new database.
 */
async function demoApiKey(api, token, workspaceId) {
  const file = resolve(root, '.ferry', 'demo.json');
  let saved = {};
  try {
    saved = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  } catch {
    // unreadable: make a new key below
  }
  if (saved.workspaceId === workspaceId && saved.apiKey) {
    const check = await api('GET', '/v1/api-keys', { token: saved.apiKey });
    if (check.status === 200) return saved.apiKey;
  }
  const created = await api('POST', '/v1/api-keys', { token, body: { name: DEMO.apiKeyName } });
  if (created.missing) {
    warn('POST /v1/api-keys is not built yet: no demo API key');
    return null;
  }
  if (created.status !== 201) {
    warn(`creating the demo API key failed (${describe(created)})`);
    return null;
  }
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ workspaceId, apiKey: created.body.key }, null, 2)}\n`, { mode: 0o600 });
  return created.body.key;
}

async function demoInbox(api, token) {
  const list = await api('GET', '/v1/inboxes?limit=100', { token });
  const found = list.status === 200 ? list.body.data?.find((i) => i.name === DEMO.inboxName && i.channel === 'api') : undefined;
  if (found) return { id: found.id, isNew: false };
  const created = await api('POST', '/v1/inboxes', { token, body: { name: DEMO.inboxName, channel: 'api', config: {} } });
  if (created.missing) {
    warn('POST /v1/inboxes is not built yet: no demo inbox');
    return null;
  }
  if (created.status !== 201) {
    warn(`creating the demo inbox failed (${describe(created)})`);
    return null;
  }
  say(`created the inbox "${DEMO.inboxName}"`);
  return { id: created.body.id, isNew: true };
}

const CUSTOMERS = [
  {
    contact: { externalId: 'demo-wei-zhang', name: 'Wei Zhang' },
    message: { externalId: 'demo-wei-zhang-1', body: '你好！我们一家四口想十月去清迈玩五天，可以帮我们安排行程和酒店吗？' },
  },
  {
    contact: { externalId: 'demo-somchai', name: 'Somchai Prasert' },
    message: { externalId: 'demo-somchai-1', body: 'สวัสดีครับ ทัวร์ตลาดน้ำวันเสาร์นี้ยังมีที่ว่างสำหรับสองคนไหมครับ' },
  },
  {
    contact: { externalId: 'demo-emily-carter', name: 'Emily Carter' },
    message: { externalId: 'demo-emily-carter-1', body: 'Hi! Could we move our Bangkok food tour from Friday to Saturday evening?' },
  },
];

async function demoConversations(api, integratorToken, agentToken, inbox) {
  if (!inbox.isNew) {
    const existing = await api('GET', `/v1/conversations?inboxId=${inbox.id}&limit=1`, { token: agentToken });
    if (existing.status === 200 && existing.body.data?.length > 0) return; // seeded on an earlier start
  }
  let last = null;
  for (const customer of CUSTOMERS) {
    // The integrator pushes its customers' messages in, as an API-channel integration does.
    const inbound = await api('POST', `/v1/inboxes/${inbox.id}/inbound`, { token: integratorToken, body: customer });
    if (inbound.missing) {
      warn('POST /v1/inboxes/{id}/inbound is not built yet: no demo conversations');
      return;
    }
    if (inbound.status !== 201 && inbound.status !== 200) {
      warn(`pushing a demo message failed (${describe(inbound)})`);
      continue;
    }
    last = inbound.body?.conversation?.id ?? inbound.body?.conversationId ?? null;
  }
  say(`pushed ${CUSTOMERS.length} customer messages (Chinese, Thai, English)`);
  if (!last) return;
  const reply = await api('POST', `/v1/conversations/${last}/messages`, {
    token: agentToken,
    headers: { 'idempotency-key': `demo-reply-${last}` },
    body: { type: 'text', body: 'Hi Emily! Saturday works: you are now booked for 18:00, same meeting point at Chinatown gate.' },
  });
  if (reply.missing) warn('POST /v1/conversations/{id}/messages is not built yet: no demo reply');
  else if (reply.status !== 202 && reply.status !== 201) warn(`the demo reply failed (${describe(reply)})`);
  else say('an agent replied to Emily');
}

function printSummary(publicUrl, demo) {
  if (stopping) return;
  const lines = [
    '',
    '  Ferry is running.',
    `  API docs (Swagger UI): ${publicUrl}/docs`,
    `  Demo login:            ${DEMO.email} / ${DEMO.password}${demo ? '' : '  (not seeded: see the warnings above)'}`,
    `  Demo API key:          ${demo?.apiKey ?? '(none: see the warnings above)'}`,
    '  Try: curl -H "Authorization: Bearer <API key>" ' + `${publicUrl}/v1/conversations`,
    '  Stop with Ctrl-C.',
    '',
  ];
  console.log(lines.join('\n'));
}

main().catch((error) => fail(error.stack ?? String(error)));

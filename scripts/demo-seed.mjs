/* global AbortSignal */
// The demo workspace of `npm start`, made through Ferry's public API and the provider simulator's
// control API only, as an integrator and the providers would: six channel inboxes pointing at the
// simulator, one customer message on each (one person on two channels), and a few agent replies that
// the worker delivers. Every step looks for what an earlier start made before making it.
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const DEMO = {
  email: 'demo@ferry.local',
  password: 'ferry-demo-password',
  name: 'Dana Demo',
  workspaceName: 'Demo Travel Co.',
  apiKeyName: 'Demo key',
};

const CALL_TIMEOUT_MS = 15_000;
/** How long the worker gets to turn a hook call into a conversation, and a reply into its final status. */
const FLOW_TIMEOUT_MS = 30_000;
const MASK = '••••';
const SUPPORT_ADDRESS = 'support@demo-travel.example';

const INBOXES = {
  whatsapp: 'Demo WhatsApp',
  wechat: 'Demo WeChat',
  sms: 'Demo SMS',
  email: 'Demo email',
  line: 'Demo LINE',
  telegram: 'Demo Telegram',
};

/**
 * Each demo customer's first message, in the order they write. Ana writes on WhatsApp, then by email:
 * her contact (known by phone and email, as after a booking) gathers both into one conversation.
 * `find` is what Ferry stores from the provider that finds the contact again on a later start.
 */
const ANA = { name: 'Ana Souza', phone: '+5511987654321', email: 'ana.souza@exemplo.com.br', language: 'pt-BR' };
const MESSAGES = [
  {
    channel: 'whatsapp',
    customer: ANA,
    message: { from: '5511987654321', name: 'Ana Souza', text: 'Olá! Vi o passeio de barco pelos canais de Bangkok. Tem vaga para duas pessoas no sábado de manhã?' },
    reply: 'Olá Ana! Temos sim: sábado às 8h, saída do píer Tha Tien. Já reservei para você e o Pedro. Até lá!',
  },
  {
    channel: 'wechat',
    customer: { name: 'Wei Zhang', language: 'zh-CN' },
    message: { from: 'oDemo8uMuAJO_M2pxb1Q9zWeiZh', text: '你好！我们一家四口想十月去清迈玩五天，可以帮我们安排行程和酒店吗？' },
  },
  {
    channel: 'sms',
    customer: { name: 'Emily Carter', phone: '+14155550142', language: 'en-US' },
    message: { from: '+14155550142', text: "Hi, it's Emily Carter. Could we move our Bangkok food tour from Friday to Saturday evening?" },
    reply: 'Hi Emily! Saturday works: you are booked for 18:00, same meeting point at the Chinatown gate.',
  },
  {
    channel: 'line',
    customer: { name: 'Somchai Prasert', language: 'th' },
    message: { from: 'U4af4980629e2f1c0d3b5a7e9c1f2d3e4', text: 'สวัสดีครับ ทัวร์ตลาดน้ำวันเสาร์นี้ยังมีที่ว่างสำหรับสองคนไหมครับ' },
    reply: 'สวัสดีครับคุณสมชาย ยังมีที่ว่างครับ จองให้สองท่านแล้ว รถไปรับที่โรงแรมเวลา 07:00 น. ครับ',
  },
  {
    channel: 'telegram',
    customer: { name: 'Dmitry Volkov', language: 'ru' },
    message: { from: '512345678', name: 'Dmitry Volkov', username: 'dvolkov', text: 'Здравствуйте! Можно заказать трансфер из аэропорта Пхукета на 12 марта? Нас трое.' },
  },
  {
    channel: 'email',
    customer: ANA,
    message: {
      from: 'Ana Souza <ana.souza@exemplo.com.br>',
      subject: 'Saturday canal tour: our names for the booking',
      text: 'Hi! As I wrote on WhatsApp, we would like the Saturday morning canal tour for two.\nOur names as in our passports: Ana Souza and Pedro Souza.\n\nThanks,\nAna',
    },
  },
];

// ---- clients ----

async function call(url, { method = 'GET', token, body, headers } = {}) {
  let response;
  try {
    response = await fetch(url, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
  } catch (error) {
    return { status: 0, body: { detail: error.cause?.code ?? error.message }, missing: false };
  }
  const text = await response.text();
  let parsed;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  // A route that is not built yet, as opposed to an entity that is not there.
  const missing = response.status === 404 && parsed?.code === 'route.not_found';
  return { status: response.status, body: parsed, missing };
}

const ok = (response) => response.status >= 200 && response.status <= 299;

function describe(response) {
  const body = response.body;
  if (response.status === 0) return `no answer: ${body?.detail}`;
  const detail = body?.detail ?? body?.error ?? (typeof body === 'string' ? body.slice(0, 200) : '');
  return `${response.status}${body?.code ? ` ${body.code}` : ''}${detail ? `: ${typeof detail === 'string' ? detail : JSON.stringify(detail)}` : ''}`;
}

/** Polls `probe` until it answers something truthy; null after `timeoutMs`. */
async function waitFor(probe, timeoutMs = FLOW_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) return null;
    await sleep(250);
  }
}

// ---- the seed ----

/**
 * Seeds the demo. `sim` is {baseUrl, smtpHost, smtpPort} of the running simulator, or null.
 * Answers what the summary prints; a missing piece is a warning and leaves its part out.
 */
export async function seedDemo({ apiBase, sim, allowPrivateUrls, stateFile, say, warn }) {
  const api = (method, path, options = {}) => call(`${apiBase}${path}`, { ...options, method });
  const session = await signUpOrLogIn(api, say, warn);
  if (!session) return null;
  const { token, workspaceId } = session;
  const state = loadState(stateFile, workspaceId);
  const apiKey = await demoApiKey(api, token, state, warn);
  saveState(stateFile, state);
  const demo = { apiKey, workspaceId, channels: [] };

  if (!sim) return demo;
  if (!allowPrivateUrls) {
    warn('ALLOW_PRIVATE_URLS is false: the demo inboxes cannot point at the simulator on 127.0.0.1, so there is no channel demo');
    return demo;
  }
  const fresh = !state.credentials;
  state.credentials ??= newCredentials();
  saveState(stateFile, state);

  const simCall = (method, path, body) => call(`${sim.baseUrl}${path}`, { method, body });
  const ctx = { api, token, simCall, sim, say, warn, inboxes: {}, accounts: {} };
  await setUpChannels(ctx, state.credentials, fresh);
  const results = [];
  for (const item of MESSAGES) {
    if (!ctx.accounts[item.channel]) continue; // warned already
    const result = await customerWrites(ctx, item);
    if (result) results.push({ ...item, ...result });
  }
  for (const result of results) {
    if (result.reply) result.sent = await agentReplies(ctx, result);
  }
  demo.channels = results.map((r) => ({
    channel: r.channel,
    customer: r.customer.name,
    conversationId: r.conversationId,
    reply: r.sent ?? null,
    simAccount: ctx.accounts[r.channel],
    from: r.message.from,
  }));
  return demo;
}

async function signUpOrLogIn(api, say, warn) {
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
    if (!ok(session)) {
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

/** The git-ignored state of the demo: its API key (shown once) and its channel credentials, per workspace. */
function loadState(file, workspaceId) {
  try {
    const saved = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
    if (saved.workspaceId === workspaceId) return saved;
  } catch {
    // unreadable: start over below
  }
  return { workspaceId };
}

function saveState(file, state) {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

async function demoApiKey(api, token, state, warn) {
  if (state.apiKey) {
    const check = await api('GET', '/v1/api-keys', { token: state.apiKey });
    if (check.status === 200) return state.apiKey;
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
  state.apiKey = created.body.key;
  return state.apiKey;
}

const hex = (bytes) => randomBytes(bytes).toString('hex');
const alnum = (length) => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join('');
};
const digits = (length) => Array.from({ length }, (_, i) => (i === 0 ? randomInt(1, 10) : randomInt(10))).join('');

/** Credentials of this installation's demo accounts: random, so no two installations share them. */
function newCredentials() {
  return {
    whatsapp: { phoneNumberId: digits(15), accessToken: `EAADemo${alnum(40)}`, appSecret: hex(16), verifyToken: `ferry-demo-${hex(6)}` },
    wechat: { appId: `wx${hex(8)}`, appSecret: hex(16), token: `ferryDemo${alnum(12)}`, encodingAesKey: alnum(43) },
    sms: { accountSid: `AC${hex(16)}`, authToken: hex(16), fromNumber: '+14155550100' },
    email: { smtpPassword: hex(12), inboundSecret: hex(16) },
    line: { channelSecret: hex(16), channelAccessToken: randomBytes(48).toString('base64url') },
    telegram: { botToken: `${digits(10)}:AA${randomBytes(24).toString('base64url')}`, secretToken: `ferry_demo_${hex(8)}` },
  };
}

/** The inbox config Ferry is given, every provider endpoint at the simulator. */
function inboxConfig(channel, credentials, sim) {
  const c = credentials[channel];
  switch (channel) {
    case 'whatsapp':
      return { ...c, apiBaseUrl: `${sim.baseUrl}/v21.0` };
    case 'email':
      return {
        fromAddress: SUPPORT_ADDRESS,
        fromName: DEMO.workspaceName,
        smtp: { host: sim.smtpHost, port: sim.smtpPort, secure: false, user: SUPPORT_ADDRESS, password: c.smtpPassword },
        inboundAddress: SUPPORT_ADDRESS,
        inboundSecret: c.inboundSecret,
      };
    default:
      return { ...c, apiBaseUrl: sim.baseUrl };
  }
}

/** True when the inbox as Ferry answers it (secrets masked) already holds `wanted`. */
function sameConfig(wanted, answered) {
  if (wanted !== null && typeof wanted === 'object') {
    return answered !== null && typeof answered === 'object' && Object.keys(wanted).every((key) => sameConfig(wanted[key], answered[key]));
  }
  return answered === wanted || (answered === MASK && typeof wanted === 'string');
}

async function allInboxes(ctx) {
  const found = [];
  let cursor = null;
  do {
    const page = await ctx.api('GET', `/v1/inboxes?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token: ctx.token });
    if (page.status !== 200) return found;
    found.push(...page.body.data);
    cursor = page.body.nextCursor;
  } while (cursor);
  return found;
}

/**
 * One inbox per channel, found by name or created; pointed at this start's simulator ports and
 * credentials. The simulator keeps accounts in memory, so they are registered again on every start.
 */
async function setUpChannels(ctx, credentials, freshCredentials) {
  const existing = await allInboxes(ctx);
  for (const [channel, name] of Object.entries(INBOXES)) {
    const config = inboxConfig(channel, credentials, ctx.sim);
    let inbox = existing.find((i) => i.name === name && i.channel === channel);
    if (!inbox) {
      const created = await ctx.api('POST', '/v1/inboxes', { token: ctx.token, body: { name, channel, config } });
      if (created.status !== 201) {
        ctx.warn(`creating the ${channel} inbox failed (${describe(created)}): no ${channel} demo`);
        continue;
      }
      inbox = created.body;
      ctx.say(`created the inbox "${name}"`);
    } else if (freshCredentials || !sameConfig(config, inbox.config)) {
      const patched = await ctx.api('PATCH', `/v1/inboxes/${inbox.id}`, { token: ctx.token, body: { config } });
      if (patched.status !== 200) {
        ctx.warn(`pointing the ${channel} inbox at the simulator failed (${describe(patched)}): no ${channel} demo`);
        continue;
      }
      inbox = patched.body;
    }
    ctx.inboxes[channel] = inbox;

    const registered = await ctx.simCall('POST', '/_sim/accounts', { channel, hookUrl: inbox.webhookUrl, ...config });
    if (!ok(registered)) {
      ctx.warn(`registering the ${channel} account at the simulator failed (${describe(registered)}): no ${channel} demo`);
      continue;
    }
    ctx.accounts[channel] = registered.body.id;
    if (channel === 'whatsapp' || channel === 'wechat') {
      // As Meta and WeChat do when a webhook URL is saved: Ferry must echo the challenge.
      const handshake = await ctx.simCall('POST', `/_sim/${channel}/handshake`, { account: registered.body.id });
      if (!handshake.body?.echoed) ctx.warn(`the ${channel} webhook verification (GET ${inbox.webhookUrl}) was not echoed (${describe(handshake.body?.delivery ?? handshake)})`);
    }
  }
  const ready = Object.keys(ctx.accounts);
  if (ready.length > 0) ctx.say(`the simulator plays ${ready.join(', ')} for the demo inboxes`);
}

/** A contact's identity on an inbox, with the contact: found through the fields Ferry searches. */
async function findCustomer(ctx, item) {
  const inboxId = ctx.inboxes[item.channel].id;
  const candidates = new Set();
  for (const q of [item.customer.phone, item.customer.email, item.customer.name].filter(Boolean)) {
    const page = await ctx.api('GET', `/v1/contacts?limit=25&q=${encodeURIComponent(q)}`, { token: ctx.token });
    for (const contact of page.status === 200 ? page.body.data : []) candidates.add(contact.id);
  }
  // A customer the provider gives no name (WeChat, LINE, SMS), before the demo named them.
  const recent = await ctx.api('GET', `/v1/conversations?limit=25&inboxId=${inboxId}`, { token: ctx.token });
  for (const conversation of recent.status === 200 ? recent.body.data : []) candidates.add(conversation.contact.id);
  for (const id of candidates) {
    const contact = await ctx.api('GET', `/v1/contacts/${id}`, { token: ctx.token });
    const identity = contact.status === 200 ? contact.body.identities?.find((i) => i.inboxId === inboxId && sameExternalId(item, i.externalId)) : undefined;
    if (identity) return { contact: contact.body, identity };
  }
  return null;
}

function sameExternalId(item, externalId) {
  const from = item.message.from;
  const address = /<([^>]+)>/.exec(from)?.[1] ?? from;
  const bare = (value) => String(value).toLowerCase().replace(/[^a-z0-9@._-]/g, '');
  return bare(externalId) === bare(address);
}

async function conversationOf(ctx, contact) {
  const q = contact.email ?? contact.phone ?? contact.name;
  const page = await ctx.api('GET', `/v1/conversations?limit=25&q=${encodeURIComponent(q)}`, { token: ctx.token });
  return page.status === 200 ? (page.body.data.find((c) => c.contact.id === contact.id) ?? null) : null;
}

/** The customer's message through the simulator's provider and Ferry's hook, unless an earlier start sent it. */
async function customerWrites(ctx, item) {
  const { channel, customer } = item;
  if (customer === ANA && channel === 'whatsapp') await ensureContact(ctx, ANA);
  let found = await findCustomer(ctx, item);
  if (found) {
    // A new simulator process knows nothing of earlier messages: tell it when the customer wrote, for its windows.
    if (found.identity.lastInboundAt) {
      await ctx.simCall('POST', `/_sim/${channel}/users`, { account: ctx.accounts[channel], user: found.identity.externalId, lastInboundAt: found.identity.lastInboundAt });
    }
  } else {
    const message = channel === 'email' ? { ...item.message, to: SUPPORT_ADDRESS } : item.message;
    const sent = await ctx.simCall('POST', `/_sim/${channel}/inbound`, { account: ctx.accounts[channel], message });
    if (!ok(sent)) {
      ctx.warn(`the simulator could not post the ${channel} message (${describe(sent)})`);
      return null;
    }
    if (!ok(sent.body)) {
      const pending = sent.body.status === 404 ? ' (the provider hooks are not built yet?)' : '';
      ctx.warn(`Ferry's ${channel} hook answered ${describe(sent.body)}${pending}: no ${channel} conversation`);
      return null;
    }
    found = await waitFor(() => findCustomer(ctx, item));
    if (!found) {
      ctx.warn(`Ferry took the ${channel} message, but the worker made no conversation of it within ${FLOW_TIMEOUT_MS / 1000}s`);
      return null;
    }
    ctx.say(`${customer.name} wrote on ${channel}`);
  }
  const contact = await nameContact(ctx, found.contact, customer);
  const conversation = await conversationOf(ctx, contact);
  if (!conversation) {
    ctx.warn(`no conversation found for ${customer.name}`);
    return null;
  }
  return { conversationId: conversation.id, identityId: found.identity.id };
}

/** Ana is known by phone and email before she writes (a past booking): both channels find her. */
async function ensureContact(ctx, customer) {
  const page = await ctx.api('GET', `/v1/contacts?limit=25&q=${encodeURIComponent(customer.email)}`, { token: ctx.token });
  if (page.status === 200 && page.body.data.some((c) => c.email === customer.email)) return;
  const created = await ctx.api('POST', '/v1/contacts', { token: ctx.token, body: customer });
  if (created.status !== 201) ctx.warn(`creating the contact ${customer.name} failed (${describe(created)}): her two channels may not meet`);
}

/** Providers that give no name (WeChat, LINE, SMS) leave a nameless contact: the agent names them. */
async function nameContact(ctx, contact, customer) {
  const patch = {};
  if (!contact.name) patch.name = customer.name;
  if (!contact.language) patch.language = customer.language;
  if (Object.keys(patch).length === 0) return contact;
  const patched = await ctx.api('PATCH', `/v1/contacts/${contact.id}`, { token: ctx.token, body: patch });
  return patched.status === 200 ? patched.body : contact;
}

const FINAL = { whatsapp: ['delivered', 'read'], sms: ['delivered'] };

/** The agent's reply on the customer's channel, once; followed until the provider's last word on it. */
async function agentReplies(ctx, item) {
  const messages = await ctx.api('GET', `/v1/conversations/${item.conversationId}/messages?limit=100`, { token: ctx.token });
  let reply = messages.status === 200 ? messages.body.data.find((m) => m.direction === 'out' && m.identityId === item.identityId) : undefined;
  if (!reply) {
    const posted = await ctx.api('POST', `/v1/conversations/${item.conversationId}/messages`, {
      token: ctx.token,
      headers: { 'idempotency-key': `demo-reply-${item.identityId}` },
      body: { type: 'text', body: item.reply, via: { identityId: item.identityId } },
    });
    if (posted.missing) {
      ctx.warn('POST /v1/conversations/{id}/messages is not built yet: no demo replies');
      return null;
    }
    if (posted.status !== 202 && posted.status !== 201) {
      ctx.warn(`the ${item.channel} reply to ${item.customer.name} was refused (${describe(posted)})`);
      return null;
    }
    reply = posted.body;
    ctx.say(`an agent replied to ${item.customer.name} on ${item.channel}`);
  }
  const final = FINAL[item.channel] ?? ['sent', 'delivered', 'read'];
  const settled = await waitFor(async () => {
    const current = await ctx.api('GET', `/v1/messages/${reply.id}`, { token: ctx.token });
    if (current.status !== 200) return null;
    reply = current.body;
    return final.includes(reply.status) || reply.status === 'failed' ? reply : null;
  });
  if (!settled) ctx.warn(`the ${item.channel} reply to ${item.customer.name} is still ${reply.status} after ${FLOW_TIMEOUT_MS / 1000}s`);
  else if (reply.status === 'failed') ctx.warn(`the ${item.channel} reply to ${item.customer.name} failed: ${reply.errorCode ?? ''} ${reply.errorReason ?? ''}`);
  return { id: reply.id, status: reply.status };
}

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';

/** Ferry's configuration, typed and grouped. Built once from the environment by loadConfig(). */
export interface FerryConfig {
  http: { port: number; host: string; publicUrl: string; bodyLimitBytes: number };
  database: {
    /** Owner connection: creates the database, runs migrations. */
    url: string;
    /** Application connection: a role without BYPASSRLS, held to the row-level-security policies. */
    appUrl: string;
    appRole: string;
    poolSize: number;
  };
  redis: { url: string; keyPrefix: string };
  auth: {
    appSecret: string;
    accessTokenTtlSeconds: number;
    refreshTokenTtlSeconds: number;
    invitationTtlSeconds: number;
    loginMaxAttempts: number;
    loginWindowSeconds: number;
  };
  rateLimit: { perMinute: number };
  outbox: {
    relayIntervalMs: number;
    relayGraceMs: number;
    stalledAfterMs: number;
    /** Published jobs older than this are deleted, unless their work is still pending (ferry_outbox_prune). */
    retentionMs: number;
    /** How often the worker prunes; 0 = never. */
    pruneIntervalMs: number;
    /** Rows deleted per statement (one short transaction each). */
    pruneBatch: number;
  };
  worker: {
    /** Jobs run at once per queue, per worker process (each queue has its own BullMQ Worker). */
    concurrency: { inbound: number; outbound: number; status: number; events: number; webhooks: number; billing: number };
    /** A job whose worker stops renewing its lock for this long (a crash) goes back to the queue. */
    lockDurationMs: number;
  };
  delivery: {
    /** A provider call without an answer after this long is a transient failure. */
    timeoutMs: number;
    /** How long a send left in doubt by a crash waits for the provider's receipt before it is resent. */
    inDoubtGraceMs: number;
    /** A hop with a fallback after it that has no delivery receipt this long after it was sent goes on to the next identity. */
    fallbackDeadlineMs: number;
    /** The least time between two sends to the same WhatsApp user (Meta's pair rate, about one per 6 s). */
    whatsappPairIntervalMs: number;
  };
  webhooks: {
    /** An endpoint without an answer after this long: the attempt failed. */
    timeoutMs: number;
    /** Multiplies every webhook delay (the retry schedule, the 5-day disable window): 1 in production, tiny in tests. */
    retryScale: number;
    /** Deliveries to one endpoint in flight at once, across workers; the rest wait, so a slow endpoint cannot take every slot. */
    maxInFlightPerEndpoint: number;
  };
  /** Ferry's own SMTP listener for inbound email (self-hosters); port 0 = off. */
  smtp: { port: number; host: string };
  log: { level: string };
  allowPrivateUrls: boolean;
  billing: BillingConfig;
}

export const PLAN_NAMES = ['free', 'team', 'business'] as const;
export type PlanName = (typeof PLAN_NAMES)[number];

/** What a plan allows; null is unlimited. Paid plans are billed per seat (the subscription quantity). */
export interface PlanLimits {
  seats: number | null;
  inboxes: number | null;
  messagesPerMonth: number | null;
  features: string[];
}

export interface StripeSettings {
  secretKey: string;
  webhookSecret: string;
  /** Another Stripe endpoint (the simulator); null: Stripe itself. */
  apiUrl: string | null;
  prices: { team: string; business: string };
  meterEvent: string;
}

export interface BillingConfig {
  /** null when STRIPE_SECRET_KEY is not set: billing is off and nothing is limited (self-hosting). */
  stripe: StripeSettings | null;
  plans: Record<PlanName, PlanLimits>;
  /** How long a past_due workspace may still send. */
  pastDueGraceMs: number;
  /** Least time between two seat-quantity updates of one subscription (Stripe allows 200 an hour). */
  seatsSyncIntervalMs: number;
  /** Usage is reported to Stripe in one meter event per workspace per window. */
  usageReportWindowMs: number;
}

/** The plans, unless BILLING_PLANS (JSON, per plan and field) overrides some of it. */
export const DEFAULT_PLANS: Record<PlanName, PlanLimits> = {
  free: { seats: 3, inboxes: 2, messagesPerMonth: 1000, features: [] },
  team: { seats: 50, inboxes: 20, messagesPerMonth: 50_000, features: ['fallback'] },
  business: { seats: null, inboxes: null, messagesPerMonth: 500_000, features: ['fallback', 'priority_support'] },
};

export class ConfigError extends Error {
  constructor(readonly variable: string, problem: string) {
    super(`Configuration error: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/ferry';
const DEFAULT_APP_ROLE = 'ferry_app';

export function loadConfig(overrides: Env = {}, env: Env = process.env): FerryConfig {
  const read = (name: string): string | undefined => {
    const value = name in overrides ? overrides[name] : env[name];
    return value === undefined || value === '' ? undefined : value;
  };
  const port = int(read, 'PORT', 3000, 0, 65535);
  const databaseUrl = url(read, 'DATABASE_URL', DEFAULT_DATABASE_URL, ['postgres:', 'postgresql:']);
  const appUrl = read('DATABASE_APP_URL')
    ? url(read, 'DATABASE_APP_URL', '', ['postgres:', 'postgresql:'])
    : withUser(databaseUrl, DEFAULT_APP_ROLE);
  return {
    http: {
      port,
      host: read('HOST') ?? '0.0.0.0',
      publicUrl: url(read, 'PUBLIC_URL', `http://localhost:${port}`, ['http:', 'https:']).replace(/\/$/, ''),
      bodyLimitBytes: int(read, 'BODY_LIMIT_BYTES', 1_048_576, 1024, 100 * 1_048_576),
    },
    database: {
      url: databaseUrl,
      appUrl,
      appRole: decodeURIComponent(new URL(appUrl).username),
      poolSize: int(read, 'DATABASE_POOL_SIZE', 20, 1, 500),
    },
    redis: {
      url: url(read, 'REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:']),
      keyPrefix: read('REDIS_PREFIX') ?? 'ferry',
    },
    auth: {
      appSecret: secret(read),
      accessTokenTtlSeconds: int(read, 'ACCESS_TOKEN_TTL_SECONDS', 900, 10, 86_400),
      refreshTokenTtlSeconds: int(read, 'REFRESH_TOKEN_TTL_SECONDS', 30 * 86_400, 60, 365 * 86_400),
      invitationTtlSeconds: int(read, 'INVITATION_TTL_SECONDS', 7 * 86_400, 60, 90 * 86_400),
      loginMaxAttempts: int(read, 'LOGIN_MAX_ATTEMPTS', 5, 1, 1000),
      loginWindowSeconds: int(read, 'LOGIN_WINDOW_SECONDS', 900, 1, 86_400),
    },
    rateLimit: { perMinute: int(read, 'RATE_LIMIT_PER_MINUTE', 1200, 1, 1_000_000) },
    outbox: outbox(read),
    worker: {
      concurrency: concurrency(read),
      lockDurationMs: int(read, 'WORKER_LOCK_DURATION_MS', 30_000, 1000, 600_000),
    },
    delivery: {
      timeoutMs: int(read, 'DELIVERY_TIMEOUT_MS', 10_000, 100, 120_000),
      inDoubtGraceMs: int(read, 'DELIVERY_IN_DOUBT_GRACE_MS', 30_000, 0, 3_600_000),
      fallbackDeadlineMs: int(read, 'FALLBACK_DELIVERY_DEADLINE_MS', 600_000, 100, 7 * 86_400_000),
      whatsappPairIntervalMs: int(read, 'WHATSAPP_PAIR_INTERVAL_MS', 6000, 0, 600_000),
    },
    webhooks: {
      timeoutMs: int(read, 'WEBHOOK_TIMEOUT_MS', 15_000, 100, 120_000),
      retryScale: ratio(read, 'WEBHOOK_RETRY_SCALE', 1),
      maxInFlightPerEndpoint: int(read, 'WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT', 4, 1, 1000),
    },
    smtp: { port: int(read, 'SMTP_PORT', 0, 0, 65535), host: read('SMTP_HOST') ?? '0.0.0.0' },
    log: { level: oneOf(read, 'LOG_LEVEL', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) },
    allowPrivateUrls: bool(read, 'ALLOW_PRIVATE_URLS', false),
    billing: billing(read),
  };
}

type Reader = (name: string) => string | undefined;

function outbox(read: Reader): FerryConfig['outbox'] {
  const stalledAfterMs = int(read, 'OUTBOX_STALLED_AFTER_MS', 900_000, 1000, 86_400_000);
  // A week. The prune keeps the rows of pending work whatever their age (a fallback check included,
  // until it has run), so the window is mostly for people (a week of jobs to look into after an
  // incident, the webhook retry schedule's 28 hours well inside it) and a margin for any job recovery
  // may yet learn to revive. Nothing the recovery revives depends on it, so it need not be longer
  // than OUTBOX_STALLED_AFTER_MS (it had to while a fallback check was kept only within the window).
  const retentionMs = int(read, 'OUTBOX_RETENTION_MS', 7 * 86_400_000, 3_600_000, 365 * 86_400_000);
  return {
    relayIntervalMs: int(read, 'OUTBOX_RELAY_INTERVAL_MS', 1000, 10, 3_600_000),
    relayGraceMs: int(read, 'OUTBOX_RELAY_GRACE_MS', 5000, 0, 3_600_000),
    stalledAfterMs,
    retentionMs,
    pruneIntervalMs: int(read, 'OUTBOX_PRUNE_INTERVAL_MS', 600_000, 0, 86_400_000),
    pruneBatch: int(read, 'OUTBOX_PRUNE_BATCH', 1000, 1, 100_000),
  };
}

/** WORKER_CONCURRENCY for every queue, WORKER_CONCURRENCY_<QUEUE> for one. */
function concurrency(read: Reader): FerryConfig['worker']['concurrency'] {
  const all = int(read, 'WORKER_CONCURRENCY', 16, 1, 1000);
  const of = (queue: string): number => int(read, `WORKER_CONCURRENCY_${queue.toUpperCase()}`, all, 1, 1000);
  // Billing jobs (usage counts, Stripe events) wait well; they must not take the database from delivery.
  const billing = int(read, 'WORKER_CONCURRENCY_BILLING', Math.min(all, 4), 1, 1000);
  // A send spends most of its time waiting on the provider, holding no database connection (its claim and
  // its answer are group commits of the workspace's sends): at 16 a worker sent ~300 messages/s to a
  // local provider and ~50/s to one answering in 300 ms, while its CPU idled. The inbox rate limits,
  // not this, keep each provider's pace.
  const outbound = int(read, 'WORKER_CONCURRENCY_OUTBOUND', Math.min(all * 8, 1000), 1, 1000);
  // Webhook sends wait on the integrators' endpoints the same way (each endpoint's in-flight cap keeps
  // its pace): at 16, fan-out queued a batch job for half the events and ran about 10 % slower. An event
  // job sends its first tries itself and waits up to a second for them, so it is counted alike.
  const webhooks = int(read, 'WORKER_CONCURRENCY_WEBHOOKS', Math.min(all * 8, 1000), 1, 1000);
  const events = int(read, 'WORKER_CONCURRENCY_EVENTS', Math.min(all * 8, 1000), 1, 1000);
  return { inbound: of('inbound'), outbound, status: of('status'), events, webhooks, billing };
}

/** Billing is on when STRIPE_SECRET_KEY is set; the webhook secret and both prices must then be set too. */
function billing(read: Reader): BillingConfig {
  const secretKey = read('STRIPE_SECRET_KEY');
  const required = (name: string): string => {
    const value = read(name);
    if (value === undefined) throw new ConfigError(name, 'must be set when STRIPE_SECRET_KEY is set');
    return value;
  };
  const stripe: StripeSettings | null = secretKey
    ? {
        secretKey,
        webhookSecret: required('STRIPE_WEBHOOK_SECRET'),
        apiUrl: read('STRIPE_API_URL') ? url(read, 'STRIPE_API_URL', '', ['http:', 'https:']) : null,
        prices: { team: required('STRIPE_PRICE_TEAM'), business: required('STRIPE_PRICE_BUSINESS') },
        meterEvent: read('STRIPE_METER_EVENT') ?? 'ferry_messages_sent',
      }
    : null;
  return {
    stripe,
    plans: plans(read),
    pastDueGraceMs: int(read, 'BILLING_PAST_DUE_GRACE_SECONDS', 7 * 86_400, 0, 90 * 86_400) * 1000,
    seatsSyncIntervalMs: int(read, 'BILLING_SEATS_SYNC_INTERVAL_MS', 60_000, 0, 3_600_000),
    usageReportWindowMs: int(read, 'BILLING_USAGE_REPORT_WINDOW_MS', 60_000, 100, 86_400_000),
  };
}

function plans(read: Reader): Record<PlanName, PlanLimits> {
  const raw = read('BILLING_PLANS');
  if (raw === undefined) return DEFAULT_PLANS;
  let given: unknown;
  try {
    given = JSON.parse(raw);
  } catch {
    throw new ConfigError('BILLING_PLANS', 'is not valid JSON');
  }
  if (typeof given !== 'object' || given === null) throw new ConfigError('BILLING_PLANS', 'must be a JSON object keyed by plan');
  const result = structuredClone(DEFAULT_PLANS);
  for (const [plan, fields] of Object.entries(given)) {
    if (!(PLAN_NAMES as readonly string[]).includes(plan)) throw new ConfigError('BILLING_PLANS', `has an unknown plan "${plan}"`);
    const target = result[plan as PlanName];
    for (const [field, value] of Object.entries(fields as Record<string, unknown>)) {
      if (field === 'features') {
        if (!Array.isArray(value) || !value.every((f) => typeof f === 'string')) throw new ConfigError('BILLING_PLANS', `${plan}.features must be a list of names`);
        target.features = value;
      } else if (field === 'seats' || field === 'inboxes' || field === 'messagesPerMonth') {
        if (value !== null && !(Number.isInteger(value) && (value as number) >= 0)) throw new ConfigError('BILLING_PLANS', `${plan}.${field} must be a whole number or null (unlimited)`);
        target[field] = value as number | null;
      } else {
        throw new ConfigError('BILLING_PLANS', `has an unknown field "${plan}.${field}"`);
      }
    }
  }
  return result;
}

function int(read: Reader, name: string, fallback: number, min: number, max: number): number {
  const raw = read(name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

/** A positive decimal number up to 1 (a time scale). */
function ratio(read: Reader, name: string, fallback: number): number {
  const raw = read(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d*\.?\d+(e-?\d+)?$/i.test(raw) || !(value > 0 && value <= 1)) throw new ConfigError(name, `must be a number above 0 and at most 1, got "${raw}"`);
  return value;
}

function url(read: Reader, name: string, fallback: string, protocols: string[]): string {
  const raw = read(name) ?? fallback;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `is not a valid URL: "${raw}"`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must use ${protocols.join(' or ')}, got "${parsed.protocol}"`);
  }
  return raw;
}

function bool(read: Reader, name: string, fallback: boolean): boolean {
  const raw = read(name);
  if (raw === undefined) return fallback;
  if (['true', '1', 'yes'].includes(raw)) return true;
  if (['false', '0', 'no'].includes(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

function oneOf(read: Reader, name: string, fallback: string, allowed: string[]): string {
  const raw = read(name) ?? fallback;
  if (!allowed.includes(raw)) throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${raw}"`);
  return raw;
}

function withUser(databaseUrl: string, user: string): string {
  const parsed = new URL(databaseUrl);
  parsed.username = user;
  parsed.password = '';
  return parsed.toString();
}

/**
 * APP_SECRET signs tokens and derives the credential encryption key. Production sets it; on a
 * developer's machine one is generated once and kept in .ferry/dev-secret (git-ignored), so tokens
 * and encrypted credentials survive restarts.
 */
function secret(read: Reader): string {
  const given = read('APP_SECRET');
  if (given !== undefined) {
    if (given.length < 32) throw new ConfigError('APP_SECRET', 'must be at least 32 characters');
    return given;
  }
  const file = resolve(read('FERRY_STATE_DIR') ?? '.ferry', 'dev-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const generated = randomBytes(32).toString('base64url');
  mkdirSync(dirname(file), { recursive: true });
  try {
    writeFileSync(file, `${generated}\n`, { mode: 0o600, flag: 'wx' });
    return generated;
  } catch (error) {
    // Another process (the worker starting beside the API) wrote it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(file, 'utf8').trim();
    throw error;
  }
}

/** Which Vitest worker runs this file, so each gets a database of its own. */
export function testWorkerId(env: Env = process.env): string {
  return env['VITEST_POOL_ID'] ?? env['VITEST_WORKER_ID'] ?? '0';
}

import { DataSource } from 'typeorm';
import pg from 'pg';
import type { FerryConfig } from '#config';
import { ENTITIES } from './entity-list.js';
import { PreparingClient } from './prepared-client.js';
import { Foundation1764320000000 } from './migrations/1764320000000-foundation.js';
import { InboundEvents1764400000000 } from './migrations/1764400000000-inbound-events.js';
import { Delivery1764400001000 } from './migrations/1764400001000-delivery.js';
import { OutboxRecovery1764400002000 } from './migrations/1764400002000-outbox-recovery.js';
import { Reachability1764400003000 } from './migrations/1764400003000-reachability.js';
import { Fallback1764500000000 } from './migrations/1764500000000-fallback.js';
import { Webhooks1764700500000 } from './migrations/1764700500000-webhooks.js';
import { WebhookRecovery1764700501000 } from './migrations/1764700501000-webhook-recovery.js';
import { Billing1764800000000 } from './migrations/1764800000000-billing.js';
import { EventSubscriptions1764900000000 } from './migrations/1764900000000-event-subscriptions.js';
import { EventSubscribedPlpgsql1765000000000 } from './migrations/1765000000000-event-subscribed-plpgsql.js';
import { WebhookBatches1765100000000 } from './migrations/1765100000000-webhook-batches.js';
import { InboundBatches1765200000000 } from './migrations/1765200000000-inbound-batches.js';
import { OutboxPrune1765300000000 } from './migrations/1765300000000-outbox-prune.js';
import { FallbackChecked1765500000000 } from './migrations/1765500000000-fallback-checked.js';
import { WebhookTenantKeys1765600000000 } from './migrations/1765600000000-webhook-tenant-keys.js';

/** Every migration, in order. Add a new one at the end; never edit one that has shipped. */
export const MIGRATIONS = [
  Foundation1764320000000, InboundEvents1764400000000, Delivery1764400001000, OutboxRecovery1764400002000, Reachability1764400003000,
  Fallback1764500000000, Webhooks1764700500000, WebhookRecovery1764700501000, Billing1764800000000,
  EventSubscriptions1764900000000, EventSubscribedPlpgsql1765000000000, WebhookBatches1765100000000, InboundBatches1765200000000,
  OutboxPrune1765300000000, FallbackChecked1765500000000, WebhookTenantKeys1765600000000,
];

// Postgres bigint (count(*)) arrives as a string; counts here always fit in a JS number.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/** How long a pooled connection may sit idle before it is closed. */
const IDLE_CONNECTION_MS = 5 * 60_000;

/** The connection the application runs on: the app role, held to row-level security. */
export function createAppDataSource(config: FerryConfig): DataSource {
  return new DataSource({
    type: 'postgres',
    url: config.database.appUrl,
    entities: ENTITIES,
    synchronize: false,
    migrationsRun: false,
    // Connections stay open through a lull (pg closes an idle one after 10 s by default): a new one is a
    // new backend whose caches are cold and whose statements must all be prepared again.
    extra: { max: config.database.poolSize, idleTimeoutMillis: IDLE_CONNECTION_MS, application_name: 'ferry', Client: PreparingClient },
  });
}

/** The owner connection: migrations only. */
export function createOwnerDataSource(config: FerryConfig): DataSource {
  return new DataSource({
    type: 'postgres',
    url: config.database.url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTransactionMode: 'all',
    synchronize: false,
    // The migrations grant to the app role by name; it travels as a session setting.
    extra: { max: 1, application_name: 'ferry-migrate', options: `-c ferry.app_role=${config.database.appRole}` },
  });
}

import { Inject, Injectable } from '@nestjs/common';
import type { Stripe } from 'stripe';
import { CONFIG, type FerryConfig } from '#config';
import { uuidv7 } from '#domain';
import { TenantDb } from '#database';
import { JOBS, Queues } from '#queue';
import { BillingAccountsRepository } from './billing-accounts.repository.js';
import { effectivePlan } from './plans.js';
import { fromJob } from './stripe-calls.js';
import { STRIPE } from './stripe-client.js';
import { type PendingReport, UsageRepository } from './usage.repository.js';

/** Past the window's end, so every usage of the window is committed when its report runs. */
const WINDOW_SETTLE_MS = 500;

/**
 * Metered usage: each message sent counts once (billing_usage is keyed by message), and what a paid
 * workspace used is reported to Stripe in one meter event per workspace and window. The report's id
 * is chosen and the rows are marked with it in one transaction before Stripe is called, and is the
 * meter event's `identifier`: a report resent after a crash (or a timeout) is one Stripe counts once.
 */
@Injectable()
export class UsageMetering {
  constructor(
    private readonly db: TenantDb,
    @Inject(CONFIG) private readonly config: FerryConfig,
    @Inject(STRIPE) private readonly stripe: Stripe,
    private readonly accounts: BillingAccountsRepository,
    private readonly usage: UsageRepository,
    private readonly queues: Queues,
  ) {}

  /** The `billing.usage` job. Usage on Free is counted (for its limit) but never billed. */
  async record(workspaceId: string, messageIds: string[]): Promise<void> {
    const billable = await this.db.run(workspaceId, async (tx) => {
      const account = await this.accounts.find(tx);
      const paid = account.stripeCustomerId !== null && effectivePlan(account.plan, account.status) !== 'free';
      return (await this.usage.recordMany(tx, messageIds, paid)) > 0 && paid;
    });
    if (billable) await this.scheduleReport(workspaceId);
  }

  /**
   * One report job per workspace and window (its jobId), run just after the window ends: every usage
   * of the window is in it, and a usage of the next window schedules the next one.
   */
  private async scheduleReport(workspaceId: string): Promise<void> {
    const windowMs = this.config.billing.usageReportWindowMs;
    const now = Date.now();
    const window = Math.floor(now / windowMs);
    const definition = JOBS['billing.report'];
    await this.queues.get(definition.queue).add('billing.report', { workspaceId }, {
      ...definition.options,
      jobId: `report-${workspaceId}-${window}`,
      delay: (window + 1) * windowMs - now + WINDOW_SETTLE_MS,
    });
  }

  /** The `billing.report` job: gathers the unreported usage, then sends every report not yet confirmed. */
  async report(workspaceId: string): Promise<void> {
    const pending = await this.db.run(workspaceId, async (tx) => {
      const account = await this.accounts.lock(tx);
      if (account.stripeCustomerId) await this.usage.gather(tx, uuidv7(), account.stripeCustomerId);
      return this.usage.pendingReports(tx);
    });
    for (const report of pending) {
      await this.send(report);
      await this.db.run(workspaceId, (tx) => this.usage.markReported(tx, report.id));
    }
  }

  private async send(report: PendingReport): Promise<void> {
    await fromJob('reporting usage to Stripe', async () => {
      try {
        await this.stripe.billing.meterEvents.create({
          event_name: this.config.billing.stripe!.meterEvent,
          identifier: report.id,
          timestamp: Math.floor(report.createdAt.getTime() / 1000),
          payload: { stripe_customer_id: report.stripeCustomerId, value: String(report.quantity) },
        });
      } catch (error) {
        // Stripe refuses an identifier it has seen: that report was counted, by the call a crash interrupted.
        if (!isDuplicateIdentifier(error)) throw error;
      }
    });
  }
}

function isDuplicateIdentifier(error: unknown): boolean {
  const e = error as { code?: string; message?: string; statusCode?: number };
  return e.statusCode === 400 && (e.code === 'resource_already_exists' || /identifier .*already exists/i.test(e.message ?? ''));
}

import { randomBytes } from 'node:crypto';
import { type Account, type AccountOf, PROVIDERS, type Provider, accountKey, parseAccount } from './accounts.js';
import { SimInputError } from './input.js';

/** What the provider knows about one user of one account: the messaging window and blocks. */
export interface UserState {
  /** Epoch ms of the user's last inbound message (opens the WhatsApp 24 h / WeChat 48 h window). */
  lastInboundAt?: number;
  /** WeChat: customer-service messages sent since that inbound (5 allowed). */
  sentSinceInbound: number;
  /** Telegram: the user blocked the bot. WeChat: the user unsubscribed. */
  blocked: boolean;
}

export interface ReceiptRecord {
  status: string;
  /** Ferry's answer to the last attempt (0: unreachable). */
  httpStatus: number;
  attempts: number;
  postedAt: string;
}

/** One outbound message the provider accepted. */
export interface SentRecord {
  seq: number;
  channel: Provider;
  accountId?: string;
  providerMessageId: string;
  /** Ferry's message id where the protocol carries it (callback data, retry key, StatusCallback query, Message-ID). */
  ferryMessageId?: string;
  to: string;
  /** text, template, image... ; LINE: reply or push; email: mail. */
  type: string;
  text?: string;
  request: unknown;
  acceptedAt: string;
  receipts: ReceiptRecord[];
}

export class SimState {
  private readonly accounts = new Map<string, Account>();
  private readonly byKey = new Map<string, string>();
  private readonly users = new Map<string, UserState>();
  private readonly sent = new Map<Provider, SentRecord[]>();
  private seq = 0;

  /** Registers an account, or updates the one with the same credential: given fields replace, null clears. */
  upsertAccount(input: unknown): Account {
    const draft = parseAccount(input, '');
    const key = `${draft.channel}|${accountKey(draft)}`;
    const existing = this.accounts.get(this.byKey.get(key) ?? '');
    const id = existing?.id ?? `${draft.channel}_${randomBytes(6).toString('hex')}`;
    const account = existing ? parseAccount({ ...existing, ...(input as object) }, id) : { ...draft, id };
    this.accounts.set(id, account);
    this.byKey.set(key, id);
    return account;
  }

  listAccounts(): Account[] {
    return [...this.accounts.values()];
  }

  /** An account by its id, or registered on the fly from an inline spec (hook URL + secrets). */
  resolveAccount<P extends Provider>(provider: P, ref: unknown): AccountOf<P> {
    const account = typeof ref === 'string' ? this.accounts.get(ref) : this.upsertAccount({ channel: provider, ...(ref as object) });
    if (!account) throw new SimInputError(`no account ${String(ref)}`);
    if (account.channel !== provider) throw new SimInputError(`account ${account.id} is a ${account.channel} account`);
    return account as AccountOf<P>;
  }

  find<P extends Provider>(provider: P, match: (account: AccountOf<P>) => boolean): AccountOf<P> | undefined {
    for (const account of this.accounts.values()) {
      if (account.channel === provider && match(account as AccountOf<P>)) return account as AccountOf<P>;
    }
    return undefined;
  }

  user(accountId: string, userId: string): UserState {
    const key = `${accountId}|${userId}`;
    let state = this.users.get(key);
    if (!state) {
      state = { sentSinceInbound: 0, blocked: false };
      this.users.set(key, state);
    }
    return state;
  }

  /** The user wrote: the window opens (again) from `at`. */
  inbound(accountId: string, userIds: Array<string | undefined>, at: number): void {
    for (const userId of userIds) {
      if (!userId) continue;
      const state = this.user(accountId, userId);
      state.lastInboundAt = Math.max(state.lastInboundAt ?? 0, at);
      state.sentSinceInbound = 0;
    }
  }

  record(record: Omit<SentRecord, 'seq' | 'acceptedAt' | 'receipts'>): SentRecord {
    const full: SentRecord = { ...record, seq: ++this.seq, acceptedAt: new Date().toISOString(), receipts: [] };
    const list = this.sent.get(record.channel) ?? [];
    list.push(full);
    this.sent.set(record.channel, list);
    return full;
  }

  sentOf(provider: Provider): SentRecord[] {
    return this.sent.get(provider) ?? [];
  }

  findSent(provider: Provider, providerMessageId: string): SentRecord | undefined {
    return this.sentOf(provider).find((r) => r.providerMessageId === providerMessageId);
  }

  reset(): void {
    this.accounts.clear();
    this.byKey.clear();
    this.users.clear();
    for (const provider of PROVIDERS) this.sent.delete(provider);
    this.seq = 0;
  }
}

/** The records with, per Ferry message id, how many times the provider accepted it ("delivered exactly once"). */
export function sentReport(records: SentRecord[]): { messages: Array<SentRecord & { deliveryCount: number }>; deliveryCounts: Record<string, number> } {
  const deliveryCounts: Record<string, number> = {};
  for (const r of records) if (r.ferryMessageId) deliveryCounts[r.ferryMessageId] = (deliveryCounts[r.ferryMessageId] ?? 0) + 1;
  return {
    messages: records.map((r) => ({ ...r, deliveryCount: r.ferryMessageId ? deliveryCounts[r.ferryMessageId]! : 1 })),
    deliveryCounts,
  };
}

import { Injectable } from '@nestjs/common';
import type { ConversationStatus, MessageDirection, MessageStatus, MessageType, Priority } from '#domain';
import { ConversationEntity, type TenantTx } from '#database';
import { containsPattern } from './search.js';

/** A conversation as lists and details show it: with its contact's name and a preview of its last message. */
export interface ConversationRow {
  id: string;
  contactId: string;
  contactName: string | null;
  status: ConversationStatus;
  assigneeId: string | null;
  teamId: string | null;
  priority: Priority;
  labels: string[];
  snoozedUntil: Date | null;
  lastInboxId: string | null;
  lastActivityAt: Date;
  createdAt: Date;
  updatedAt: Date;
  resolvedAt: Date | null;
  /** last_activity_at to the microsecond (ISO 8601): the keyset cursor's key; a Date would round it. */
  activityKey: string;
  lastMessage: MessagePreview | null;
}

export interface MessagePreview {
  id: string;
  direction: MessageDirection;
  type: MessageType;
  /** The first 200 characters of the body. */
  body: string;
  status: MessageStatus;
  createdAt: Date;
}

export interface ConversationFilters {
  status?: ConversationStatus;
  assigneeId?: string;
  teamId?: string;
  inboxId?: string;
  label?: string;
  q?: string;
}

export interface ConversationPatch {
  status?: ConversationStatus;
  assigneeId?: string | null;
  teamId?: string | null;
  priority?: Priority;
  labels?: string[];
  snoozedUntil?: Date | null;
  /** true: stamp resolved_at with now(); false: clear it. */
  resolved?: boolean;
}

type RawRow = Omit<ConversationRow, 'lastMessage'> & {
  lmId: string | null;
  lmDirection: MessageDirection;
  lmType: MessageType;
  lmBody: string;
  lmStatus: MessageStatus;
  lmCreatedAt: Date;
};

// Conversations of deleted contacts are hidden with their contact.
const SELECT_ROWS = `
  SELECT c.id, c.contact_id AS "contactId", ct.name AS "contactName", c.status, c.assignee_id AS "assigneeId",
         c.team_id AS "teamId", c.priority, c.labels, c.snoozed_until AS "snoozedUntil",
         c.last_inbox_id AS "lastInboxId", c.last_activity_at AS "lastActivityAt", c.created_at AS "createdAt",
         c.updated_at AS "updatedAt", c.resolved_at AS "resolvedAt",
         to_char(c.last_activity_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "activityKey",
         lm.id AS "lmId", lm.direction AS "lmDirection", lm.type AS "lmType", lm.body AS "lmBody",
         lm.status AS "lmStatus", lm.created_at AS "lmCreatedAt"
  FROM conversations c
  JOIN contacts ct ON ct.workspace_id = c.workspace_id AND ct.id = c.contact_id AND ct.deleted_at IS NULL
  LEFT JOIN LATERAL (
    SELECT m.id, m.direction, m.type, left(m.body, 200) AS body, m.status, m.created_at FROM messages m
    WHERE m.workspace_id = c.workspace_id AND m.conversation_id = c.id
    ORDER BY m.id DESC LIMIT 1
  ) lm ON true`;

/** Queries of conversations: one thread per customer relationship (at most one not resolved per contact). */
@Injectable()
export class ConversationsRepository {
  async findById(tx: TenantTx, id: string): Promise<ConversationRow | null> {
    const rows: RawRow[] = await tx.manager.query(`${SELECT_ROWS} WHERE c.workspace_id = $1 AND c.id = $2`, [tx.workspaceId, id]);
    return rows[0] ? toRow(rows[0]) : null;
  }

  /** The contact's conversation that is not resolved, if any (the unique index allows one). */
  async findOpenByContact(tx: TenantTx, contactId: string): Promise<ConversationEntity | null> {
    const rows: ConversationEntity[] = await tx.manager.query(
      `SELECT id, workspace_id AS "workspaceId", contact_id AS "contactId", status, assignee_id AS "assigneeId", team_id AS "teamId",
              priority, labels, snoozed_until AS "snoozedUntil", last_inbox_id AS "lastInboxId", last_activity_at AS "lastActivityAt",
              created_at AS "createdAt", updated_at AS "updatedAt", resolved_at AS "resolvedAt"
       FROM conversations WHERE workspace_id = $1 AND contact_id = $2 AND status <> 'resolved' LIMIT 1`,
      [tx.workspaceId, contactId],
    );
    return rows[0] ?? null;
  }

  /** The open (not resolved) conversation of each of these contacts that has one: id and status, by contact. */
  async findOpenByContacts(tx: TenantTx, contactIds: string[]): Promise<Map<string, { id: string; status: ConversationEntity['status'] }>> {
    const rows: Array<{ id: string; contactId: string; status: ConversationEntity['status'] }> = await tx.manager.query(
      `SELECT id, contact_id AS "contactId", status FROM conversations WHERE workspace_id = $1 AND contact_id = ANY($2::uuid[]) AND status <> 'resolved'`,
      [tx.workspaceId, contactIds],
    );
    return new Map(rows.map((row) => [row.contactId, { id: row.id, status: row.status }]));
  }

  /**
   * Most recent activity first, ties broken by id, so a keyset page never repeats or skips a row.
   * `after` is the previous page's last (activityKey, id).
   */
  async list(
    tx: TenantTx,
    filters: ConversationFilters,
    after: { key: string; id: string } | null,
    limit: number,
  ): Promise<ConversationRow[]> {
    const params: unknown[] = [tx.workspaceId];
    const param = (value: unknown): string => {
      params.push(value);
      return `$${params.length}`;
    };
    const where = ['c.workspace_id = $1'];
    if (filters.status) where.push(`c.status = ${param(filters.status)}`);
    if (filters.assigneeId) where.push(`c.assignee_id = ${param(filters.assigneeId)}`);
    if (filters.teamId) where.push(`c.team_id = ${param(filters.teamId)}`);
    if (filters.inboxId) where.push(`c.last_inbox_id = ${param(filters.inboxId)}`);
    if (filters.label) where.push(`c.labels @> ARRAY[${param(filters.label)}]::text[]`);
    if (filters.q) {
      const q = param(filters.q);
      const pattern = param(containsPattern(filters.q));
      // Full-text for words, ILIKE for scripts without spaces between words (Chinese, Thai, Japanese).
      where.push(`(ct.search_text ILIKE ${pattern} OR EXISTS (
        SELECT 1 FROM messages m WHERE m.workspace_id = c.workspace_id AND m.conversation_id = c.id
        AND (m.search_vector @@ websearch_to_tsquery('simple', ${q}) OR m.body ILIKE ${pattern})))`);
    }
    if (after) where.push(`(c.last_activity_at, c.id) < (${param(after.key)}::timestamptz, ${param(after.id)}::uuid)`);
    const rows: RawRow[] = await tx.manager.query(
      `${SELECT_ROWS} WHERE ${where.join(' AND ')} ORDER BY c.last_activity_at DESC, c.id DESC LIMIT ${param(limit)}`,
      params,
    );
    return rows.map(toRow);
  }

  async insert(tx: TenantTx, conversation: { id: string; contactId: string; lastInboxId: string | null }): Promise<void> {
    await tx.manager.insert(ConversationEntity, {
      ...conversation,
      workspaceId: tx.workspaceId,
      status: 'open',
      priority: 'none',
      labels: [],
      lastActivityAt: () => 'now()',
    });
  }

  async update(tx: TenantTx, id: string, patch: ConversationPatch): Promise<void> {
    const { resolved, ...columns } = patch;
    const values: Record<string, unknown> = { ...columns };
    if (resolved !== undefined) values['resolvedAt'] = resolved ? () => 'now()' : null;
    if (Object.keys(values).length === 0) return;
    await tx.manager.update(ConversationEntity, { workspaceId: tx.workspaceId, id }, values);
  }

  /** A message arrived or left: the conversation moves to the top; inbound also records its inbox. */
  async touchActivity(tx: TenantTx, id: string, inboxId?: string): Promise<void> {
    const values: Record<string, unknown> = { lastActivityAt: () => 'now()' };
    if (inboxId) values['lastInboxId'] = inboxId;
    await tx.manager.update(ConversationEntity, { workspaceId: tx.workspaceId, id }, values);
  }
}

function toRow(raw: RawRow): ConversationRow {
  const { lmId, lmDirection, lmType, lmBody, lmStatus, lmCreatedAt, ...row } = raw;
  const lastMessage = lmId
    ? { id: lmId, direction: lmDirection, type: lmType, body: lmBody, status: lmStatus, createdAt: lmCreatedAt }
    : null;
  return { ...row, lastMessage };
}

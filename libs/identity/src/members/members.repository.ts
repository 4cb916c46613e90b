import { Injectable } from '@nestjs/common';
import { uuidv7, type Role } from '#domain';
import { MemberEntity, type TenantTx, type UserTx } from '#database';

/** A member with the user's name and email, as lists show it. */
export interface MemberRow {
  id: string;
  userId: string;
  name: string;
  email: string;
  role: Role;
  languages: string[];
  capacity: number;
  createdAt: Date;
}

/** One of a user's memberships, seen before a workspace is chosen (login, switch, /me). */
export interface Membership {
  memberId: string;
  workspaceId: string;
  workspaceName: string;
  role: Role;
}

export type MemberChanges = Partial<Pick<MemberEntity, 'role' | 'languages' | 'capacity'>>;

const MEMBER_ROW = `m.id, m.user_id AS "userId", u.name, u.email, m.role, m.languages, m.capacity, m.created_at AS "createdAt"`;

@Injectable()
export class MembersRepository {
  async findById(tx: TenantTx, id: string): Promise<MemberEntity | null> {
    return tx.manager.findOneBy(MemberEntity, { workspaceId: tx.workspaceId, id });
  }

  async findRowById(tx: TenantTx, id: string): Promise<MemberRow | null> {
    const rows: MemberRow[] = await tx.manager.query(
      `SELECT ${MEMBER_ROW} FROM members m JOIN users u ON u.id = m.user_id WHERE m.workspace_id = $1 AND m.id = $2`,
      [tx.workspaceId, id],
    );
    return rows[0] ?? null;
  }

  async findByUserId(tx: TenantTx, userId: string): Promise<MemberEntity | null> {
    return tx.manager.findOneBy(MemberEntity, { workspaceId: tx.workspaceId, userId });
  }

  async existsWithEmail(tx: TenantTx, email: string): Promise<boolean> {
    const rows: unknown[] = await tx.manager.query(
      `SELECT 1 FROM members m JOIN users u ON u.id = m.user_id WHERE m.workspace_id = $1 AND lower(u.email) = lower($2)`,
      [tx.workspaceId, email],
    );
    return rows.length > 0;
  }

  /** Keyset page in creation order: ids are UUIDv7, so the id alone is the sort key. */
  async listPage(tx: TenantTx, afterId: string | null, limit: number): Promise<MemberRow[]> {
    return tx.manager.query(
      `SELECT ${MEMBER_ROW} FROM members m JOIN users u ON u.id = m.user_id
       WHERE m.workspace_id = $1 AND ($2::uuid IS NULL OR m.id > $2::uuid)
       ORDER BY m.id LIMIT $3`,
      [tx.workspaceId, afterId, limit],
    );
  }

  async insert(tx: TenantTx, member: { userId: string; role: Role }): Promise<MemberEntity> {
    const entity = tx.manager.create(MemberEntity, {
      id: uuidv7(),
      workspaceId: tx.workspaceId,
      userId: member.userId,
      role: member.role,
      languages: [],
      capacity: 10,
    });
    await tx.manager.insert(MemberEntity, entity);
    return entity;
  }

  async update(tx: TenantTx, id: string, changes: MemberChanges): Promise<void> {
    if (Object.keys(changes).length === 0) return;
    await tx.manager.update(MemberEntity, { workspaceId: tx.workspaceId, id }, changes);
  }

  async delete(tx: TenantTx, id: string): Promise<void> {
    await tx.manager.delete(MemberEntity, { workspaceId: tx.workspaceId, id });
  }

  /**
   * Locks the owners' rows and returns their ids: two admins demoting the last two owners at once
   * must not both see "another owner remains".
   */
  async lockOwnerIds(tx: TenantTx): Promise<string[]> {
    const rows: Array<{ id: string }> = await tx.manager.query(
      `SELECT id FROM members WHERE workspace_id = $1 AND role = 'owner' ORDER BY id FOR UPDATE`,
      [tx.workspaceId],
    );
    return rows.map((row) => row.id);
  }

  /** The user's memberships in every workspace, oldest first (the default workspace at login). */
  async listMembershipsOfUser(tx: UserTx): Promise<Membership[]> {
    return tx.manager.query(
      `SELECT m.id AS "memberId", m.workspace_id AS "workspaceId", w.name AS "workspaceName", m.role
       FROM members m JOIN workspaces w ON w.id = m.workspace_id
       WHERE m.user_id = $1 ORDER BY m.created_at, m.id`,
      [tx.userId],
    );
  }

  async findMembershipOfUser(tx: UserTx, workspaceId: string): Promise<Membership | null> {
    const rows: Membership[] = await tx.manager.query(
      `SELECT m.id AS "memberId", m.workspace_id AS "workspaceId", w.name AS "workspaceName", m.role
       FROM members m JOIN workspaces w ON w.id = m.workspace_id
       WHERE m.user_id = $1 AND m.workspace_id = $2`,
      [tx.userId, workspaceId],
    );
    return rows[0] ?? null;
  }
}

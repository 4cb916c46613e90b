import { Injectable } from '@nestjs/common';
import { canManageRole, decodeCursor, DomainError, isUuid, type Page, pageOf, type Role } from '#domain';
import { TenantDb, type TenantTx } from '#database';
import { Outbox } from '#queue';
import type { Principal } from '../principal.js';
import { RefreshTokensRepository } from '../sessions/refresh-tokens.repository.js';
import { type MemberChanges, type MemberRow, MembersRepository } from './members.repository.js';

export interface MemberView {
  id: string;
  userId: string;
  name: string;
  email: string;
  role: Role;
  languages: string[];
  capacity: number;
  createdAt: string;
}

export interface MemberUpdate {
  role?: Role;
  languages?: string[];
  capacity?: number;
}

const notFound = (): DomainError => DomainError.notFound('member');

/**
 * The workspace's members. Owners manage everyone; admins manage admins and agents but never an
 * owner, nor make one (canManageRole). A workspace always keeps one owner, and nobody changes
 * their own role (an admin cannot lock themselves out, nor an owner demote the last owner).
 */
@Injectable()
export class MembersService {
  constructor(
    private readonly db: TenantDb,
    private readonly members: MembersRepository,
    private readonly refreshTokens: RefreshTokensRepository,
    private readonly outbox: Outbox,
  ) {}

  async list(caller: Principal, page: { limit: number; cursor?: string }): Promise<Page<MemberView>> {
    const after = decodeCursor(page.cursor, isUuid);
    const rows = await this.db.run(caller.workspaceId, (tx) => this.members.listPage(tx, after?.id ?? null, page.limit + 1));
    return pageOf(rows.map(toView), page.limit, (member) => ({ key: member.id, id: member.id }));
  }

  async update(caller: Principal, id: string, update: MemberUpdate): Promise<MemberView> {
    if (!isUuid(id)) throw notFound();
    return this.db.run(caller.workspaceId, async (tx) => {
      const target = await this.members.findById(tx, id);
      if (!target) throw notFound();
      assertMayManage(caller, target.role);
      const changes: MemberChanges = {};
      if (update.role !== undefined && update.role !== target.role) {
        if (target.id === caller.memberId) throw DomainError.forbidden('member.own_role', 'You cannot change your own role');
        assertMayManage(caller, update.role);
        if (target.role === 'owner') await this.assertAnotherOwner(tx, target.id);
        changes.role = update.role;
      }
      if (update.languages !== undefined) changes.languages = [...new Set(update.languages)];
      if (update.capacity !== undefined) changes.capacity = update.capacity;
      await this.members.update(tx, id, changes);
      const row = await this.members.findRowById(tx, id);
      if (!row) throw notFound();
      return toView(row);
    });
  }

  /** Removes a member and ends their sessions in this workspace (their access token lapses within minutes). */
  async remove(caller: Principal, id: string): Promise<void> {
    if (!isUuid(id)) throw notFound();
    await this.db.run(caller.workspaceId, async (tx) => {
      const target = await this.members.findById(tx, id);
      if (!target) throw notFound();
      assertMayManage(caller, target.role);
      if (target.role === 'owner') await this.assertAnotherOwner(tx, target.id);
      await this.members.delete(tx, id);
      await this.refreshTokens.revokeForUserInWorkspace(tx, target.userId);
      // Seats follow members (billing consumes it, throttled per workspace).
      await this.outbox.write(tx, 'billing.seats', { workspaceId: tx.workspaceId });
    });
  }

  private async assertAnotherOwner(tx: TenantTx, ownerId: string): Promise<void> {
    const owners = await this.members.lockOwnerIds(tx);
    if (!owners.some((id) => id !== ownerId)) {
      throw DomainError.conflict('member.last_owner', 'A workspace needs an owner: make someone else owner first');
    }
  }
}

function assertMayManage(caller: Principal, role: Role): void {
  if (!canManageRole(caller.role, role)) {
    throw DomainError.forbidden('member.role_forbidden', `Your role (${caller.role}) cannot manage or grant the ${role} role`);
  }
}

function toView(row: MemberRow): MemberView {
  return {
    id: row.id,
    userId: row.userId,
    name: row.name,
    email: row.email,
    role: row.role,
    languages: row.languages,
    capacity: row.capacity,
    createdAt: row.createdAt.toISOString(),
  };
}

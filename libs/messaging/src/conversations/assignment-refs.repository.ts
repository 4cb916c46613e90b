import { Injectable } from '@nestjs/common';
import { In } from 'typeorm';
import { LabelEntity, MemberEntity, TeamEntity, type TenantTx } from '#database';

/** Existence checks of what a conversation points at: its assignee, its team, its labels. */
@Injectable()
export class AssignmentRefsRepository {
  async memberExists(tx: TenantTx, memberId: string): Promise<boolean> {
    return tx.manager.existsBy(MemberEntity, { workspaceId: tx.workspaceId, id: memberId });
  }

  async teamExists(tx: TenantTx, teamId: string): Promise<boolean> {
    return tx.manager.existsBy(TeamEntity, { workspaceId: tx.workspaceId, id: teamId });
  }

  /** The names among `names` that are not labels of the workspace. */
  async missingLabels(tx: TenantTx, names: readonly string[]): Promise<string[]> {
    if (names.length === 0) return [];
    const found = await tx.manager.find(LabelEntity, {
      select: { name: true },
      where: { workspaceId: tx.workspaceId, name: In([...names]) },
    });
    const known = new Set(found.map((label) => label.name));
    return names.filter((name) => !known.has(name));
  }
}

import { Injectable } from '@nestjs/common';
import { TeamEntity, TeamMemberEntity, type TenantTx } from '#database';

export interface NewTeamRow {
  id: string;
  name: string;
  description: string | null;
}

/** Queries of teams and their members. */
@Injectable()
export class TeamsRepository {
  async findById(tx: TenantTx, id: string): Promise<TeamEntity | null> {
    return tx.manager.findOneBy(TeamEntity, { workspaceId: tx.workspaceId, id });
  }

  /** A keyset page in name order: `take` teams after (name, id). */
  async listAfter(tx: TenantTx, after: { name: string; id: string } | null, take: number): Promise<TeamEntity[]> {
    const query = tx.manager
      .createQueryBuilder(TeamEntity, 't')
      .where('t.workspace_id = :workspaceId', { workspaceId: tx.workspaceId })
      .orderBy('t.name', 'ASC')
      .addOrderBy('t.id', 'ASC')
      .limit(take);
    if (after) query.andWhere('(t.name, t.id) > (:name, :id)', after);
    return query.getMany();
  }

  async insert(tx: TenantTx, row: NewTeamRow): Promise<TeamEntity> {
    const entity = tx.manager.create(TeamEntity, { ...row, workspaceId: tx.workspaceId });
    await tx.manager.insert(TeamEntity, entity);
    return entity;
  }

  /** Applies the changes (and bumps updated_at even when only the members changed). */
  async update(tx: TenantTx, id: string, changes: Partial<Pick<TeamEntity, 'name' | 'description'>>): Promise<void> {
    await tx.manager.update(TeamEntity, { workspaceId: tx.workspaceId, id }, { ...changes, updatedAt: () => 'now()' });
  }

  async delete(tx: TenantTx, id: string): Promise<boolean> {
    const result = await tx.manager.delete(TeamEntity, { workspaceId: tx.workspaceId, id });
    return (result.affected ?? 0) > 0;
  }

  /** The member ids of each of the teams, in a stable order. */
  async memberIdsByTeam(tx: TenantTx, teamIds: string[]): Promise<Map<string, string[]>> {
    const byTeam = new Map<string, string[]>(teamIds.map((id) => [id, []]));
    if (teamIds.length === 0) return byTeam;
    const rows: Array<{ team_id: string; member_id: string }> = await tx.manager.query(
      `SELECT team_id, member_id FROM team_members WHERE workspace_id = $1 AND team_id = ANY($2::uuid[]) ORDER BY member_id`,
      [tx.workspaceId, teamIds],
    );
    for (const row of rows) byTeam.get(row.team_id)?.push(row.member_id);
    return byTeam;
  }

  async replaceMembers(tx: TenantTx, teamId: string, memberIds: string[]): Promise<void> {
    await tx.manager.delete(TeamMemberEntity, { workspaceId: tx.workspaceId, teamId });
    if (memberIds.length === 0) return;
    await tx.manager.insert(TeamMemberEntity, memberIds.map((memberId) => ({ workspaceId: tx.workspaceId, teamId, memberId })));
  }

  /** Which of `ids` are members of this workspace. */
  async existingMemberIds(tx: TenantTx, ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows: Array<{ id: string }> = await tx.manager.query(`SELECT id FROM members WHERE workspace_id = $1 AND id = ANY($2::uuid[])`, [
      tx.workspaceId,
      ids,
    ]);
    return new Set(rows.map((row) => row.id));
  }
}

import { Injectable } from '@nestjs/common';
import { decodeCursor, DomainError, isUuid, type Page, pageOf, uuidv7 } from '#domain';
import { type TeamEntity, TenantDb, type TenantTx } from '#database';
import { uniqueViolation } from '../conversations/unique-violation.js';
import { TeamsRepository } from './teams.repository.js';

export interface TeamView {
  id: string;
  name: string;
  description: string | null;
  memberIds: string[];
  createdAt: Date;
  updatedAt: Date;
}

export interface CreateTeamInput {
  name: string;
  description?: string | null;
  memberIds?: string[];
}

/** `description: null` clears it; `memberIds` replaces the whole membership. */
export type UpdateTeamInput = Partial<CreateTeamInput>;

const isSortKey = (key: string): boolean => key.length > 0 && key.length <= 512;

/** Teams of members, to route conversations to; names are unique in a workspace, ignoring case. */
@Injectable()
export class TeamsService {
  constructor(
    private readonly db: TenantDb,
    private readonly teams: TeamsRepository,
  ) {}

  async list(workspaceId: string, page: { limit: number; cursor?: string | undefined }): Promise<Page<TeamView>> {
    const after = decodeCursor(page.cursor, isSortKey);
    return this.db.run(workspaceId, async (tx) => {
      const rows = await this.teams.listAfter(tx, after ? { name: after.key, id: after.id } : null, page.limit + 1);
      const { data, nextCursor } = pageOf(rows, page.limit, (row) => ({ key: row.name, id: row.id }));
      const members = await this.teams.memberIdsByTeam(tx, data.map((row) => row.id));
      return { data: data.map((row) => view(row, members.get(row.id) ?? [])), nextCursor };
    });
  }

  async get(workspaceId: string, id: string): Promise<TeamView> {
    return this.db.run(workspaceId, async (tx) => this.viewOf(tx, await this.require(tx, id)));
  }

  async create(workspaceId: string, input: CreateTeamInput): Promise<TeamView> {
    return this.db.run(workspaceId, async (tx) => {
      const memberIds = await this.checkedMembers(tx, input.memberIds ?? []);
      const row = await this.teams
        .insert(tx, { id: uuidv7(), name: input.name.trim(), description: input.description?.trim() || null })
        .catch(nameTaken);
      await this.teams.replaceMembers(tx, row.id, memberIds);
      return view(row, memberIds.slice().sort());
    });
  }

  async update(workspaceId: string, id: string, input: UpdateTeamInput): Promise<TeamView> {
    return this.db.run(workspaceId, async (tx) => {
      const row = await this.require(tx, id);
      const changes: Partial<Pick<TeamEntity, 'name' | 'description'>> = {};
      if (input.name !== undefined) changes.name = input.name.trim();
      if (input.description !== undefined) changes.description = input.description?.trim() || null;
      if (input.memberIds !== undefined) await this.teams.replaceMembers(tx, row.id, await this.checkedMembers(tx, input.memberIds));
      await this.teams.update(tx, row.id, changes).catch(nameTaken);
      return this.viewOf(tx, await this.require(tx, row.id));
    });
  }

  async remove(workspaceId: string, id: string): Promise<void> {
    await this.db.run(workspaceId, async (tx) => {
      if (!isUuid(id) || !(await this.teams.delete(tx, id))) throw DomainError.notFound('team');
    });
  }

  private async require(tx: TenantTx, id: string): Promise<TeamEntity> {
    const row = isUuid(id) ? await this.teams.findById(tx, id) : null;
    if (!row) throw DomainError.notFound('team');
    return row;
  }

  private async viewOf(tx: TenantTx, row: TeamEntity): Promise<TeamView> {
    return view(row, (await this.teams.memberIdsByTeam(tx, [row.id])).get(row.id) ?? []);
  }

  /** The ids, deduplicated, once each is known to be a member of this workspace. */
  private async checkedMembers(tx: TenantTx, memberIds: string[]): Promise<string[]> {
    const ids = memberIds.map((memberId) => memberId.toLowerCase());
    const unique = [...new Set(ids)];
    const known = await this.teams.existingMemberIds(tx, unique.filter(isUuid));
    const errors = ids
      .map((memberId, index) => ({ memberId, index }))
      .filter(({ memberId }) => !known.has(memberId))
      .map(({ memberId, index }) => ({ field: `memberIds.${index}`, message: `${memberId} is not a member of this workspace` }));
    if (errors.length > 0) throw DomainError.invalid('team.invalid_member', 'Every memberId must be a member of this workspace', errors);
    return unique;
  }
}

function nameTaken(error: unknown): never {
  if (uniqueViolation(error) === 'teams_name_key') throw DomainError.conflict('team.name_taken', 'A team with this name exists');
  throw error;
}

function view(row: TeamEntity, memberIds: string[]): TeamView {
  return { id: row.id, name: row.name, description: row.description, memberIds, createdAt: row.createdAt, updatedAt: row.updatedAt };
}

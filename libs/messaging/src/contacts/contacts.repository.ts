import { Injectable } from '@nestjs/common';
import { IsNull, type QueryDeepPartialEntity } from 'typeorm';
import { ContactEntity, type TenantTx } from '#database';
import { containsPattern } from '../conversations/search.js';

export interface NewContact {
  id: string;
  name: string | null;
  email: string | null;
  phone: string | null;
  language: string | null;
  timezone: string | null;
  country: string | null;
  customAttributes: Record<string, unknown>;
}

export type ContactPatch = Partial<Omit<NewContact, 'id'>>;

/** Queries of contacts. Deleted contacts are kept (soft delete) but never found. */
@Injectable()
export class ContactsRepository {
  async findById(tx: TenantTx, id: string): Promise<ContactEntity | null> {
    return tx.manager.findOneBy(ContactEntity, { workspaceId: tx.workspaceId, id, deletedAt: IsNull() });
  }

  /** Newest first; `q` matches name, email or phone anywhere (trigram index, any script). */
  async list(tx: TenantTx, options: { q?: string; afterId?: string; limit: number }): Promise<ContactEntity[]> {
    const query = tx.manager
      .createQueryBuilder(ContactEntity, 'c')
      .where('c.workspace_id = :workspaceId', { workspaceId: tx.workspaceId })
      .andWhere('c.deleted_at IS NULL');
    if (options.q) query.andWhere('c.search_text ILIKE :pattern', { pattern: containsPattern(options.q) });
    if (options.afterId) query.andWhere('c.id < :afterId', { afterId: options.afterId });
    return query.orderBy('c.id', 'DESC').limit(options.limit).getMany();
  }

  async findByEmail(tx: TenantTx, email: string): Promise<ContactEntity | null> {
    return tx.manager
      .createQueryBuilder(ContactEntity, 'c')
      .where('c.workspace_id = :workspaceId', { workspaceId: tx.workspaceId })
      .andWhere('c.deleted_at IS NULL')
      .andWhere('lower(c.email) = lower(:email)', { email })
      .getOne();
  }

  async findByPhone(tx: TenantTx, phone: string): Promise<ContactEntity | null> {
    return tx.manager.findOneBy(ContactEntity, { workspaceId: tx.workspaceId, phone, deletedAt: IsNull() });
  }

  /** Writes the contact and answers it as stored (times from the database), in one statement. */
  async insert(tx: TenantTx, contact: NewContact): Promise<ContactEntity> {
    const rows: ContactEntity[] = await tx.manager.query(
      `INSERT INTO contacts (id, workspace_id, name, email, phone, language, timezone, country, custom_attributes)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)
       RETURNING id, workspace_id AS "workspaceId", name, email, phone, language, timezone, country,
                 custom_attributes AS "customAttributes", created_at AS "createdAt", updated_at AS "updatedAt", deleted_at AS "deletedAt"`,
      [
        contact.id,
        tx.workspaceId,
        contact.name,
        contact.email,
        contact.phone,
        contact.language,
        contact.timezone,
        contact.country,
        JSON.stringify(contact.customAttributes),
      ],
    );
    return rows[0]!;
  }

  async update(tx: TenantTx, id: string, patch: ContactPatch): Promise<void> {
    if (Object.keys(patch).length === 0) return;
    await tx.manager.update(ContactEntity, { workspaceId: tx.workspaceId, id, deletedAt: IsNull() }, asColumns(patch));
  }

  /** Returns false when there was no live contact with this id. */
  async softDelete(tx: TenantTx, id: string): Promise<boolean> {
    const result = await tx.manager.update(
      ContactEntity,
      { workspaceId: tx.workspaceId, id, deletedAt: IsNull() },
      { deletedAt: () => 'now()' },
    );
    return (result.affected ?? 0) > 0;
  }
}

// TypeORM's deep-partial type cannot see into a jsonb Record<string, unknown>; the values are plain JSON.
function asColumns(values: object): QueryDeepPartialEntity<ContactEntity> {
  return values as QueryDeepPartialEntity<ContactEntity>;
}

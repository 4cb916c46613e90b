import { Injectable } from '@nestjs/common';
import { decodeCursor, DomainError, isUuid, type Page, pageOf, uuidv7 } from '#domain';
import { type ContactEntity, type ContactIdentityEntity, TenantDb, type TenantTx } from '#database';
import { EventWriter } from '../events/event-writer.js';
import { InboxesRepository } from '../inboxes/inboxes.repository.js';
import { uniqueViolation } from '../conversations/unique-violation.js';
import { type ContactFields, normaliseContactFields } from './contact-fields.js';
import { type ContactPatch, ContactsRepository } from './contacts.repository.js';
import { IdentitiesRepository } from './identities.repository.js';

export interface ContactDetail {
  contact: ContactEntity;
  identities: ContactIdentityEntity[];
}

export interface NewIdentityInput {
  inboxId: string;
  externalId: string;
  displayName?: string | null;
}

/** Contacts and their identities, as agents and integrators manage them. */
@Injectable()
export class ContactsService {
  constructor(
    private readonly db: TenantDb,
    private readonly contacts: ContactsRepository,
    private readonly identities: IdentitiesRepository,
    private readonly inboxes: InboxesRepository,
    private readonly events: EventWriter,
  ) {}

  async list(workspaceId: string, options: { q?: string; cursor?: string; limit: number }): Promise<Page<ContactEntity>> {
    const after = decodeCursor(options.cursor, isUuid);
    const q = options.q?.trim();
    const rows = await this.db.run(workspaceId, (tx) =>
      this.contacts.list(tx, { ...(q ? { q } : {}), ...(after ? { afterId: after.id } : {}), limit: options.limit + 1 }),
    );
    return pageOf(rows, options.limit, (row) => ({ key: row.id, id: row.id }));
  }

  async get(workspaceId: string, id: string): Promise<ContactDetail> {
    return this.db.run(workspaceId, (tx) => this.detail(tx, id));
  }

  async create(workspaceId: string, input: ContactFields): Promise<ContactDetail> {
    const fields = normaliseContactFields(input);
    return this.db.run(workspaceId, async (tx) => {
      await this.assertUnique(tx, fields, null);
      const contact = await this.write(() =>
        this.contacts.insert(tx, {
          id: uuidv7(),
          name: fields.name ?? null,
          email: fields.email ?? null,
          phone: fields.phone ?? null,
          language: fields.language ?? null,
          timezone: fields.timezone ?? null,
          country: fields.country ?? null,
          customAttributes: fields.customAttributes ?? {},
        }),
      );
      await this.events.contactCreated(tx, contact);
      return { contact, identities: [] };
    });
  }

  async update(workspaceId: string, id: string, input: ContactFields): Promise<ContactDetail> {
    const fields = normaliseContactFields(input);
    return this.db.run(workspaceId, async (tx) => {
      await this.detail(tx, id);
      await this.assertUnique(tx, fields, id);
      const patch: ContactPatch = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
      await this.write(() => this.contacts.update(tx, id, patch));
      await this.events.contact(tx, 'contact.updated', id);
      return this.detail(tx, id);
    });
  }

  async remove(workspaceId: string, id: string): Promise<void> {
    if (!isUuid(id)) throw DomainError.notFound('contact');
    const removed = await this.db.run(workspaceId, (tx) => this.contacts.softDelete(tx, id));
    if (!removed) throw DomainError.notFound('contact');
  }

  /** Links an address on an inbox to the contact; the channel is the inbox's. */
  async addIdentity(workspaceId: string, contactId: string, input: NewIdentityInput): Promise<ContactIdentityEntity> {
    return this.db.run(workspaceId, async (tx) => {
      await this.detail(tx, contactId);
      const inbox = isUuid(input.inboxId) ? await this.inboxes.findById(tx, input.inboxId) : null;
      if (!inbox) throw DomainError.notFound('inbox');
      const existing = await this.identities.findByExternalId(tx, inbox.id, input.externalId);
      if (existing) {
        if (existing.contactId === contactId) return existing;
        // An identity left behind by a deleted contact is free to take.
        if (await this.contacts.findById(tx, existing.contactId)) throw identityTaken();
        await this.identities.moveToContact(tx, existing.id, contactId);
        await this.events.contact(tx, 'contact.updated', contactId);
        return { ...existing, contactId };
      }
      try {
        const identity = await this.identities.insert(tx, {
          id: uuidv7(),
          contactId,
          inboxId: inbox.id,
          channel: inbox.channel,
          externalId: input.externalId,
          displayName: input.displayName ?? null,
        });
        await this.events.contact(tx, 'contact.updated', contactId);
        return identity;
      } catch (error) {
        if (uniqueViolation(error)) throw identityTaken();
        throw error;
      }
    });
  }

  private async detail(tx: TenantTx, id: string): Promise<ContactDetail> {
    const contact = isUuid(id) ? await this.contacts.findById(tx, id) : null;
    if (!contact) throw DomainError.notFound('contact');
    return { contact, identities: await this.identities.listByContact(tx, id) };
  }

  private async assertUnique(tx: TenantTx, fields: ContactFields, selfId: string | null): Promise<void> {
    if (fields.email) {
      const owner = await this.contacts.findByEmail(tx, fields.email);
      if (owner && owner.id !== selfId) throw emailTaken();
    }
    if (fields.phone) {
      const owner = await this.contacts.findByPhone(tx, fields.phone);
      if (owner && owner.id !== selfId) throw phoneTaken();
    }
  }

  /** A concurrent writer that took the email or phone between the check and the write still gets a 409. */
  private async write<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      const constraint = uniqueViolation(error);
      if (constraint === 'contacts_email_key') throw emailTaken();
      if (constraint === 'contacts_phone_key') throw phoneTaken();
      throw error;
    }
  }
}

const emailTaken = () => DomainError.conflict('contact.email_taken', 'Another contact of this workspace has this email');
const phoneTaken = () => DomainError.conflict('contact.phone_taken', 'Another contact of this workspace has this phone number');
const identityTaken = () =>
  DomainError.conflict('identity.taken', 'This address on this inbox already belongs to another contact');

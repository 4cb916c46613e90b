import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { createAppDataSource, TenantDb } from '#database';
import { testConfig } from '#testing';
import { UsersRepository } from './users.repository.js';

describe('UsersRepository', () => {
  let dataSource: DataSource;
  let db: TenantDb;
  const users = new UsersRepository();

  beforeAll(async () => {
    dataSource = await createAppDataSource(await testConfig()).initialize();
    db = new TenantDb(dataSource);
  });
  afterAll(async () => dataSource?.destroy());

  it('inserts a user with a lower-cased email and finds it whatever the case', async () => {
    const created = await db.global((manager) =>
      users.insert({ manager }, { email: 'Mixed.Case@Example.TEST', name: 'Mixed', passwordHash: 'scrypt$hash' }),
    );
    expect(created.email).toBe('mixed.case@example.test');
    expect(created.createdAt).toBeInstanceOf(Date);
    const found = await db.global((manager) => users.findByEmail({ manager }, 'MIXED.case@example.test'));
    expect(found).toMatchObject({ id: created.id, name: 'Mixed', passwordHash: 'scrypt$hash' });
    expect(await db.global((manager) => users.findById({ manager }, created.id))).toMatchObject({ email: 'mixed.case@example.test' });
  });

  it('finds nothing for an unknown email or id', async () => {
    expect(await db.global((manager) => users.findByEmail({ manager }, 'nobody@example.test'))).toBeNull();
    expect(await db.global((manager) => users.findById({ manager }, '00000000-0000-7000-8000-000000000000'))).toBeNull();
  });

  it('refuses a second account for the same email in another case (unique lower(email))', async () => {
    await db.global((manager) => users.insert({ manager }, { email: 'once@example.test', name: 'Once', passwordHash: 'h' }));
    await expect(
      db.global((manager) => users.insert({ manager }, { email: 'ONCE@example.test', name: 'Twice', passwordHash: 'h' })),
    ).rejects.toMatchObject({ driverError: { code: '23505', constraint: 'users_email_key' } });
  });
});

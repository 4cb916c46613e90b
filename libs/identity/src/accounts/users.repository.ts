import { Injectable } from '@nestjs/common';
import { uuidv7 } from '#domain';
import { UserEntity, type TenantTx } from '#database';

/** Any transaction: users are global (one login across workspaces), so no workspace is needed. */
export type AnyTx = Pick<TenantTx, 'manager'>;

/** Queries of users. Emails are stored lower-cased and compared lower-cased (unique on lower(email)). */
@Injectable()
export class UsersRepository {
  async findByEmail(tx: AnyTx, email: string): Promise<UserEntity | null> {
    return tx.manager
      .createQueryBuilder(UserEntity, 'u')
      .where('lower(u.email) = lower(:email)', { email })
      .getOne();
  }

  async findById(tx: AnyTx, id: string): Promise<UserEntity | null> {
    return tx.manager.findOneBy(UserEntity, { id });
  }

  async insert(tx: AnyTx, user: { email: string; name: string; passwordHash: string }): Promise<UserEntity> {
    const entity = tx.manager.create(UserEntity, { id: uuidv7(), ...user, email: user.email.toLowerCase() });
    await tx.manager.insert(UserEntity, entity);
    return entity;
  }
}

import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from './password.js';

describe('password hashing', () => {
  it('stores scrypt parameters and a random salt, and verifies the right password', async () => {
    const stored = await hashPassword('correct horse battery');
    expect(stored).toMatch(/^scrypt\$16384\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(stored).not.toContain('correct');
    expect(await verifyPassword('correct horse battery', stored)).toBe(true);
  });

  it('salts every hash differently', async () => {
    expect(await hashPassword('same password')).not.toBe(await hashPassword('same password'));
  });

  it('rejects a wrong password', async () => {
    const stored = await hashPassword('correct horse battery');
    expect(await verifyPassword('correct horse batterY', stored)).toBe(false);
    expect(await verifyPassword('', stored)).toBe(false);
  });

  it('rejects a tampered hash', async () => {
    const stored = await hashPassword('correct horse battery');
    const parts = stored.split('$');
    const flipped = Buffer.from(parts[5]!, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    const tamperedHash = [...parts.slice(0, 5), flipped.toString('base64url')].join('$');
    const tamperedSalt = [...parts.slice(0, 4), Buffer.alloc(16).toString('base64url'), parts[5]].join('$');
    const tamperedCost = stored.replace('$16384$', '$8192$');
    for (const tampered of [tamperedHash, tamperedSalt, tamperedCost]) {
      expect(await verifyPassword('correct horse battery', tampered)).toBe(false);
    }
  });

  it.each(['', 'x', 'bcrypt$1$2$3$4$5', 'scrypt$16384$8$1$salt', 'scrypt$16385$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA', `scrypt$${2 ** 24}$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA`])(
    'treats malformed hash %j as a mismatch, never an error',
    async (stored) => {
      expect(await verifyPassword('whatever password', stored)).toBe(false);
    },
  );
});

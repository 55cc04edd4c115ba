import { scryptSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashPassword, PASSWORD_COST, verifyPassword } from './password.js';

describe('password hashes', () => {
  it('are made at OWASP’s minimum scrypt cost, 16 MiB at most, and check the password', async () => {
    const stored = await hashPassword('correct horse battery');
    const [scheme, n, r, p, salt, hash] = stored.split('$');
    expect([scheme, Number(n), Number(r), Number(p)]).toEqual(['scrypt', 2 ** 14, 8, 5]);
    expect(128 * Number(n) * Number(r)).toBeLessThanOrEqual(16 * 1024 * 1024);
    expect(Buffer.from(salt ?? '', 'base64')).toHaveLength(16);
    expect(Buffer.from(hash ?? '', 'base64')).toHaveLength(32);
    expect(await verifyPassword('correct horse battery', stored)).toBe(true);
    expect(await verifyPassword('correct horse batterY', stored)).toBe(false);
    // Each hash has its own salt.
    expect(await hashPassword('correct horse battery')).not.toBe(stored);
  });

  it('still checks a hash made at the former cost (N=2^15, r=8, p=1): accounts keep working', async () => {
    const salt = Buffer.alloc(16, 7);
    const key = scryptSync('an old password', salt, 32, {
      N: 2 ** 15,
      r: 8,
      p: 1,
      maxmem: 64 * 1024 * 1024,
    });
    const stored = `scrypt$32768$8$1$${salt.toString('base64')}$${key.toString('base64')}`;
    expect(await verifyPassword('an old password', stored)).toBe(true);
    expect(await verifyPassword('another password', stored)).toBe(false);
  });

  it('match nothing when the stored form is not one', async () => {
    const { N, r, p } = PASSWORD_COST;
    for (const stored of [
      '',
      'plain',
      `bcrypt$${N}$${r}$${p}$AAAA$AAAA`,
      `scrypt$${N}$${r}$${p}$AAAA`,
    ])
      expect(await verifyPassword('plain', stored)).toBe(false);
  });
});

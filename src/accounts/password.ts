/**
 * Password hashing with scrypt (node:crypto). Stored form:
 *   scrypt$<N>$<r>$<p>$<salt base64>$<hash base64>
 * so the cost can change without invalidating existing hashes: each is checked with its own.
 *
 * The cost is one of OWASP's minimum scrypt settings (N=2^14, r=8, p=5: 16 MiB, five passes).
 * The former N=2^15, r=8, p=1 was under them, and its 32 MiB were the largest transient of a
 * node (a sign-in at a new node's start, with an optimizing compile, took one to 152-157 MB:
 * docs/benchmarks.md, "The peak before the sign-in"); measured here, 2^14 x 5 passes cost
 * the CPU 2^15 x 1 did (128-145 against 144-152 ms), its array fitting the cache. Hashes stay as
 * they were made until their password is set again: re-hashing at a sign-in would write an
 * account operation that could outdate a password change made meanwhile at another node.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const KEY_LENGTH = 32;
export const PASSWORD_COST = { N: 2 ** 14, r: 8, p: 5 } as const;

function derive(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_LENGTH, { ...options, maxmem: 128 * 1024 * 1024 }, (err, key) => {
      if (err) reject(err);
      else resolve(key);
    });
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, PASSWORD_COST);
  const { N, r, p } = PASSWORD_COST;
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(hash, 'base64');
  const key = await derive(password, Buffer.from(salt, 'base64'), {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

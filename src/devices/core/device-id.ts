/**
 * A device id is bound to its account: the first 64 bits of
 * SHA-256("mosaic-device-v1\n" + username + "\n" + nonce), the nonce chosen at random by the
 * device when it is created and sent when it registers. Device ids are public (they are the
 * origin of every operation in a folder's feed), so anyone may learn one; to register that id
 * for *another* account one would need a nonce that hashes to it under that account's name,
 * a 64-bit preimage. So no race between registrations at different nodes can hand a device's
 * id to another account.
 */
import { createHash } from 'node:crypto';

export const DEVICE_NONCE = /^[0-9a-f]{32}$/;

export function deviceIdFor(username: string, nonce: string): string {
  return createHash('sha256')
    .update(`mosaic-device-v1\n${username}\n${nonce}`)
    .digest('hex')
    .slice(0, 16);
}

export function isDeviceIdOf(deviceId: string, username: string, nonce: string): boolean {
  return DEVICE_NONCE.test(nonce) && deviceIdFor(username, nonce) === deviceId;
}

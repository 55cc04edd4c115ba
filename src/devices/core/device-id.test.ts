import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deviceIdFor, isDeviceIdOf } from './device-id.js';

const nonce = fc.stringMatching(/^[0-9a-f]{32}$/);
const username = fc.stringMatching(/^[a-z0-9_.-]{1,20}$/);

describe('device ids bound to accounts', () => {
  it('is 16 hex digits (an op-log origin)', () => {
    expect(deviceIdFor('alice', '0'.repeat(32))).toMatch(/^[0-9a-f]{16}$/);
  });

  it('property: an id checks out for its own account and not for another', () => {
    fc.assert(
      fc.property(username, username, nonce, (a, b, n) => {
        const id = deviceIdFor(a, n);
        expect(isDeviceIdOf(id, a, n)).toBe(true);
        if (a !== b) expect(isDeviceIdOf(id, b, n)).toBe(false);
      }),
    );
  });

  it('refuses a malformed nonce', () => {
    expect(isDeviceIdOf(deviceIdFor('alice', 'x'), 'alice', 'x')).toBe(false);
  });
});

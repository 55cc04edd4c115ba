/**
 * DeviceRegistration alone, with stand-ins for the node's client, the device's log and meta:
 * the namesake warning is said once, even when two registrations overlap (a running sync
 * registers again while the node answers the first one slowly).
 */
import { expect, it } from 'vitest';
import type { NodeIdentity } from '../node/identity.js';
import type { ChangeLog } from '../oplog/change-log.js';
import type { MetaRepository } from '../storage/metadata/meta.repository.js';
import type { DeviceClient } from './device-client.js';
import type { DevicePush } from './device-push.js';
import { DeviceRegistration } from './device-registration.js';

it('says once that another device has this one’s name, however registrations overlap', async () => {
  let release = (): void => undefined;
  const slow = new Promise<void>((resolve) => {
    release = resolve;
  });
  const client = {
    register: () => Promise.resolve({ acked: 0 }),
    devices: async () => {
      await slow;
      return [
        { id: 'self', name: 'laptop', owner: 'ann', lastSeen: null },
        { id: 'other', name: 'Laptop', owner: 'ann', lastSeen: 1 },
      ];
    },
  } as unknown as DeviceClient;
  const warnings: string[] = [];
  const registration = new DeviceRegistration(
    client,
    { id: 'self', name: 'laptop' } as unknown as NodeIdentity,
    null,
    { ownPastAt: () => Promise.resolve(null) } as unknown as ChangeLog,
    { set: () => Promise.resolve() } as unknown as MetaRepository,
    { acked: 0 } as unknown as DevicePush,
    {
      dir: '/tmp/dir',
      server: 'http://node.invalid',
      folder: 'photos',
      reporter: {
        progress: () => undefined,
        summary: () => undefined,
        warn: (message) => warnings.push(message),
      },
    },
  );
  const first = registration.register();
  const second = registration.register();
  release();
  await Promise.all([first, second]);
  await registration.register();
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toContain('also named "laptop"');
});

/**
 * Two devices of one folder with one name: a version, a conflict copy and the device list name
 * a device by its name, so two laptops of one host name cannot be told apart there (nothing else
 * depends on it). `mosaic sync` says so once, from the devices its account sees (pure).
 */
import type { z } from 'zod';
import type { DeviceListResponse } from './device-schemas.js';

type Listed = z.infer<typeof DeviceListResponse>;

/** The warning for a device named `self.name` among `listed`, or null when no other has it. */
export function namesakeWarning(
  folder: string,
  self: { readonly id: string; readonly name: string },
  listed: Listed,
): { message: string; detail: Record<string, unknown> } | null {
  const wanted = self.name.toLowerCase();
  const same = listed.filter((d) => d.id !== self.id && d.name.toLowerCase() === wanted);
  if (same.length === 0) return null;
  return {
    message:
      `another device syncing "${folder}" is also named "${self.name}": conflict copies and ` +
      'the device list cannot tell them apart; give this one its own name with --device NAME',
    detail: {
      device: self.name,
      others: same.map((d) => ({ id: d.id, owner: d.owner, lastSeen: d.lastSeen })),
    },
  };
}

/**
 * Devices, in two tables. `device_owners` is replicated (the `device.put` operation): which
 * account and folder a device id belongs to, the same at every node; when two registrations of
 * one id race, the one with the lowest HLC wins everywhere. `devices` is local to this node:
 * the devices that registered here, their name and when they were last seen.
 */
import type { Db } from '../db/database.js';

export interface DeviceOwner {
  readonly deviceId: string;
  readonly username: string;
  readonly folder: string;
  readonly name: string;
}

export class DeviceRepository {
  private readonly ownerStmt;
  private readonly putOwnerStmt;
  private readonly touchStmt;
  private readonly unownedStmt;

  constructor(db: Db) {
    this.ownerStmt = db.prepare(
      'SELECT device_id AS deviceId, username, folder, name FROM device_owners WHERE device_id = ?',
    );
    // The registration with the lowest HLC wins: applying the same set of device.put in any
    // order leaves the same owner.
    this.putOwnerStmt = db.prepare(`
      INSERT INTO device_owners (device_id, username, folder, name, hlc) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (device_id) DO UPDATE SET
        username = excluded.username, folder = excluded.folder, name = excluded.name,
        hlc = excluded.hlc
      WHERE excluded.hlc < device_owners.hlc`);
    this.touchStmt = db.prepare(`
      INSERT INTO devices (device_id, username, folder, name, created_at, last_seen)
      VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (device_id) DO UPDATE SET username = excluded.username,
        folder = excluded.folder, name = excluded.name, last_seen = excluded.last_seen`);
    this.unownedStmt = db.prepare(`
      SELECT device_id AS deviceId, username, folder, name FROM devices d
      WHERE NOT EXISTS (SELECT 1 FROM device_owners o WHERE o.device_id = d.device_id)`);
  }

  /** Who this device id belongs to, as far as this node knows (null: nobody yet). */
  owner(deviceId: string): DeviceOwner | null {
    return (this.ownerStmt.get(deviceId) as DeviceOwner | undefined) ?? null;
  }

  /** Folds a `device.put` in (lowest HLC wins). */
  putOwner(owner: DeviceOwner, hlc: string): void {
    this.putOwnerStmt.run(owner.deviceId, owner.username, owner.folder, owner.name, hlc);
  }

  /** Notes that the device registered (or came back) here. */
  touch(owner: DeviceOwner, now: number): void {
    this.touchStmt.run(owner.deviceId, owner.username, owner.folder, owner.name, now, now);
  }

  /** Devices registered here before ownership replicated (to announce them once). */
  unowned(): DeviceOwner[] {
    return this.unownedStmt.all() as DeviceOwner[];
  }
}

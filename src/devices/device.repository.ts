/**
 * Devices, in two tables. `device_owners` is replicated (the `device.put` operation): which
 * account and folder a device id belongs to, the same at every node; when two registrations of
 * one id race, the one with the lowest HLC wins everywhere. `devices` is local to this node:
 * the devices that registered here, their name and when they were last seen. A device removed
 * from its folder (`device.remove`, replicated too) stays in both, marked by a row of
 * `device_removals`: refused, unlisted, and no longer one of the names its versions carry.
 */
import type { Executor, MetadataStore } from '../storage/metadata/dialect.js';

export interface DeviceOwner {
  readonly deviceId: string;
  readonly username: string;
  readonly folder: string;
  readonly name: string;
}

/** A device of a folder as this node knows it (DeviceService.list). */
export interface DeviceListing {
  readonly deviceId: string;
  /** The name it last registered with here, else the one the cluster recorded. */
  readonly name: string;
  readonly username: string;
  /** When it last registered or came back here (epoch ms); null: never at this node. */
  readonly lastSeen: number | null;
}

export class DeviceRepository {
  constructor(private readonly store: MetadataStore) {}

  /**
   * Who this device id belongs to, as far as this site knows (null: nobody yet), and whether it
   * was removed from its folder.
   */
  async owner(deviceId: string): Promise<(DeviceOwner & { readonly removed: boolean }) | null> {
    const row = await this.store.db
      .selectFrom('device_owners as o')
      .leftJoin('device_removals as r', 'r.device_id', 'o.device_id')
      .select([
        'o.device_id as deviceId',
        'o.username',
        'o.folder',
        'o.name',
        'r.hlc as removedHlc',
      ])
      .where('o.device_id', '=', deviceId)
      .executeTakeFirst();
    if (row === undefined) return null;
    const { removedHlc, ...owner } = row;
    return { ...owner, removed: removedHlc !== null };
  }

  /**
   * Folds a `device.remove` in: the earliest removal is kept. It wins over any `device.put`,
   * whichever arrives first (the put still records the owner; the removal refuses the device).
   */
  async remove(trx: Executor, deviceId: string, hlc: string): Promise<void> {
    await trx
      .insertInto('device_removals')
      .values({ device_id: deviceId, hlc })
      .onConflict((oc) =>
        oc
          .column('device_id')
          .doUpdateSet((eb) => ({ hlc: eb.ref('excluded.hlc') }))
          .where('excluded.hlc', '<', (eb) => eb.ref('device_removals.hlc')),
      )
      .execute();
  }

  /**
   * Folds a `device.put` in. The registration with the lowest HLC wins: applying the same set
   * of device.put in any order leaves the same owner.
   */
  async putOwner(trx: Executor, owner: DeviceOwner, hlc: string): Promise<void> {
    await trx
      .insertInto('device_owners')
      .values({
        device_id: owner.deviceId,
        username: owner.username,
        folder: owner.folder,
        name: owner.name,
        hlc,
      })
      .onConflict((oc) =>
        oc
          .column('device_id')
          .doUpdateSet((eb) => ({
            username: eb.ref('excluded.username'),
            folder: eb.ref('excluded.folder'),
            name: eb.ref('excluded.name'),
            hlc: eb.ref('excluded.hlc'),
          }))
          .where('excluded.hlc', '<', (eb) => eb.ref('device_owners.hlc')),
      )
      .execute();
  }

  /** Notes that the device registered (or came back) here. */
  async touch(owner: DeviceOwner, now: number, trx: Executor = this.store.db): Promise<void> {
    const row = { username: owner.username, folder: owner.folder, name: owner.name };
    await trx
      .insertInto('devices')
      .values({ device_id: owner.deviceId, ...row, created_at: now, last_seen: now })
      .onConflict((oc) => oc.column('device_id').doUpdateSet({ ...row, last_seen: now }))
      .execute();
  }

  /**
   * The ids of this folder's devices known by this name (a version names its author by name):
   * the name each registered with first (replicated), or the one it last used here (a laptop
   * started again with another `--device` name writes its later versions under that one).
   */
  async idsNamed(folder: string, name: string): Promise<string[]> {
    const rows = await this.store.db
      .selectFrom('device_owners as o')
      .leftJoin('device_removals as r', 'r.device_id', 'o.device_id')
      .select('o.device_id')
      .where('o.folder', '=', folder)
      .where('o.name', '=', name)
      .where('r.device_id', 'is', null)
      .union((eb) =>
        eb
          .selectFrom('devices as d')
          .leftJoin('device_removals as r', 'r.device_id', 'd.device_id')
          .select('d.device_id')
          .where('d.folder', '=', folder)
          .where('d.name', '=', name)
          .where('r.device_id', 'is', null),
      )
      .execute();
    return rows.map((row) => row.device_id);
  }

  /**
   * Names only removed devices of this folder carried (the one each registered with, and the
   * one it last used here): no device that may still sync will answer for their versions.
   */
  async goneNames(folder: string): Promise<Set<string>> {
    const rows = await this.store.db
      .selectFrom('device_owners as o')
      .leftJoin('devices as d', 'd.device_id', 'o.device_id')
      .leftJoin('device_removals as r', 'r.device_id', 'o.device_id')
      .select(['o.name as recordedName', 'd.name as localName', 'r.hlc as removedHlc'])
      .where('o.folder', '=', folder)
      .execute();
    const gone = new Set<string>();
    const live = new Set<string>();
    for (const row of rows) {
      const names = row.localName === null ? [row.recordedName] : [row.recordedName, row.localName];
      for (const name of names) (row.removedHlc === null ? live : gone).add(name);
    }
    for (const name of live) gone.delete(name);
    return gone;
  }

  /** The name this device last registered with at this node (null: it never did here). */
  async localName(deviceId: string): Promise<string | null> {
    const row = await this.store.db
      .selectFrom('devices')
      .select('name')
      .where('device_id', '=', deviceId)
      .executeTakeFirst();
    return row?.name ?? null;
  }

  /**
   * The devices of this folder, of one account or (null) of all, by name: every registration
   * the cluster knows, with when each was last seen here.
   */
  async listFolder(folder: string, username: string | null): Promise<DeviceListing[]> {
    let query = this.store.db
      .selectFrom('device_owners as o')
      .leftJoin('devices as d', 'd.device_id', 'o.device_id')
      .leftJoin('device_removals as r', 'r.device_id', 'o.device_id')
      .select([
        'o.device_id as deviceId',
        'o.name as recordedName',
        'd.name as localName',
        'o.username',
        'd.last_seen as lastSeen',
      ])
      .where('o.folder', '=', folder)
      .where('r.device_id', 'is', null);
    if (username !== null) query = query.where('o.username', '=', username);
    const rows = await query.execute();
    return rows
      .map((row) => ({
        deviceId: row.deviceId,
        name: row.localName ?? row.recordedName,
        username: row.username,
        lastSeen: row.lastSeen,
      }))
      .sort((a, b) => a.name.localeCompare(b.name) || a.deviceId.localeCompare(b.deviceId));
  }

  /** Devices registered here before ownership replicated (to announce them once). */
  async unowned(): Promise<DeviceOwner[]> {
    return this.store.db
      .selectFrom('devices as d')
      .select(['d.device_id as deviceId', 'd.username', 'd.folder', 'd.name'])
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('device_owners as o')
              .select('o.device_id')
              .whereRef('o.device_id', '=', 'd.device_id'),
          ),
        ),
      )
      .execute();
  }
}

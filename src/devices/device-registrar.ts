/**
 * The node's register of devices (DeviceService.register): which account and folder a device
 * id belongs to, at every node. A first registration is a replicated `device.put`; an id owned
 * by another account or folder, a removed one, a node's id, and one not derived from the
 * account's name are refused.
 */
import type { Principal } from '../accounts/principal.js';
import { ConflictError, DeviceRemovedError } from '../core/errors.js';
import { Limiter } from '../core/limiter.js';
import type { ChangeLog } from '../oplog/change-log.js';
import type { OpLogRepository } from '../oplog/oplog.repository.js';
import { isDeviceIdOf } from './core/device-id.js';
import type { DeviceRepository } from './device.repository.js';

/** What the registrar needs of the service's dependencies (DeviceServiceDeps). */
export interface RegistrarDeps {
  readonly oplog: OpLogRepository;
  readonly changes: ChangeLog;
  readonly devices: DeviceRepository;
  /** Ids that are nodes (this one and its peers): never accepted as a device id. */
  readonly isNode: (id: string) => Promise<boolean>;
  readonly nodeName: string;
  readonly now?: () => number;
}

/** A registration's answer: how far the device's own operations are here (`acked`). */
export interface Registered {
  readonly deviceId: string;
  readonly folder: string;
  readonly node: string;
  readonly acked: number;
}

export class DeviceRegistrar {
  private readonly registrations = new Limiter(1);

  constructor(private readonly deps: RegistrarDeps) {}

  /**
   * Registers (or finds again) a device of this account; says how far its ops are here. A
   * device id belongs to one account and folder at every node: an id owned by another account
   * or folder is refused (409). The first registration of an id is a replicated `device.put`,
   * and only an id derived from this account's name (with the device's nonce, see
   * core/device-id.ts) may be registered afresh: whoever learns a device id from a feed cannot
   * claim it at a node its real registration has not reached yet.
   */
  register(
    principal: Principal,
    folder: string,
    deviceId: string,
    name: string,
    nonce: string | undefined,
  ): Promise<Registered> {
    // One registration at a time in this process: the check and the device.put in turn.
    return this.registrations.run(() => this.registerNow(principal, folder, deviceId, name, nonce));
  }

  /**
   * Devices registered here before ownership was replicated get their `device.put` now (once),
   * so that every node learns who they belong to.
   */
  async announceLegacyDevices(): Promise<number> {
    const legacy = await this.deps.devices.unowned();
    if (legacy.length === 0) return 0;
    await this.deps.changes.commitMany(legacy.map((d) => ({ kind: 'device.put' as const, ...d })));
    return legacy.length;
  }

  private async registerNow(
    principal: Principal,
    folder: string,
    deviceId: string,
    name: string,
    nonce: string | undefined,
  ): Promise<Registered> {
    const { oplog, devices } = this.deps;
    const now = (this.deps.now ?? Date.now)();
    const device = { deviceId, username: principal.username, folder, name };
    const owner = await devices.owner(deviceId);
    if (owner && (owner.username !== principal.username || owner.folder !== folder)) {
      throw new ConflictError('This device id is registered for another account or folder.');
    }
    if (owner?.removed === true) throw new DeviceRemovedError(folder);
    // Two first registrations of one id racing (at two nodes, or two processes of a site)
    // converge: the device.put with the lowest HLC wins everywhere (device.repository.ts).
    if (owner) {
      await devices.touch(device, now);
    } else {
      // A device id is an origin in the op log: it must not be, or pretend to be, a node.
      if (await this.deps.isNode(deviceId)) {
        throw new ConflictError('This device id is taken; remove DIR/.mosaic.');
      }
      if (nonce === undefined || !isDeviceIdOf(deviceId, principal.username, nonce)) {
        throw new ConflictError(
          'This device id is not bound to your account (or its registration has not reached ' +
            'this node yet); retry later, or remove DIR/.mosaic to start afresh.',
        );
      }
      await this.deps.changes.commitMany([{ kind: 'device.put', ...device }], (trx) =>
        devices.touch(device, now, trx),
      );
    }
    return {
      deviceId,
      folder,
      node: this.deps.nodeName,
      acked: await oplog.contiguous(deviceId),
    };
  }
}

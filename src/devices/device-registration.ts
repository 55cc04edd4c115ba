/**
 * The device's registration at its node (`POST devices`): the node answers how many of the
 * device's own changes it holds, which the push starts from. A node that holds more than the
 * device's clock gave means DIR/.mosaic is an older copy: said, and its next changes numbered
 * after those. The first registration that can list the folder's devices also says whether
 * another has this one's name (namesakes.ts).
 */
import type { NodeIdentity } from '../node/identity.js';
import type { ChangeLog } from '../oplog/change-log.js';
import type { MetaRepository } from '../storage/metadata/meta.repository.js';
import type { DeviceClient } from './device-client.js';
import type { DevicePush } from './device-push.js';
import { namesakeWarning } from './namesakes.js';
import type { Reporter } from './reporter.js';

/** What a registration needs of the replica's options (DeviceReplicaOptions). */
export interface RegistrationOptions {
  readonly dir: string;
  readonly server: string;
  readonly folder: string;
  readonly reporter: Reporter;
}

export class DeviceRegistration {
  /** Whether the other devices' names were looked at (warnOfNamesakes). */
  private namesakesLooked = false;

  constructor(
    private readonly client: DeviceClient,
    private readonly identity: NodeIdentity,
    private readonly nonce: string | null,
    private readonly changes: ChangeLog,
    private readonly meta: MetaRepository,
    /** Told how far the device's changes got at the node. */
    private readonly push: DevicePush,
    private readonly options: RegistrationOptions,
  ) {}

  /** Tells the node about this device; learns how far its changes got there. */
  async register(): Promise<void> {
    const res = await this.client.register(this.identity.id, this.identity.name, this.nonce);
    this.push.acked = res.acked;
    // The node holds more of this device's changes than its clock gave: DIR/.mosaic is an older
    // copy (restored from a backup). Its next changes took numbers the node holds, and were
    // never sent (they are at or below `acked`): they are numbered after those now.
    const had = await this.changes.ownPastAt(res.acked);
    if (had !== null) {
      this.options.reporter.warn(
        `This device's state (${this.options.dir}/.mosaic) is older than what it had sent ` +
          `(the node holds its changes up to #${res.acked}, it had #${had}: restored from a ` +
          `backup?). Its next changes are numbered after those; files it changed meanwhile ` +
          `may come back as conflict copies.`,
        { server: this.options.server },
      );
    }
    await this.meta.set('device_server', this.options.server);
    await this.meta.set('device_folder', this.options.folder);
    if (!this.namesakesLooked) await this.warnOfNamesakes();
  }

  /** Says once if another device of the folder has this one's name (namesakes.ts). */
  private async warnOfNamesakes(): Promise<void> {
    // Marked before the listing is awaited: a registration made meanwhile (a run's second try
    // while the node answered the first slowly) does not say it again.
    this.namesakesLooked = true;
    const listed = await this.client.devices().catch(() => null);
    if (listed === null) {
      this.namesakesLooked = false; // asked again at the next registration
      return;
    }
    const warning = namesakeWarning(this.options.folder, this.identity, listed);
    if (warning !== null) this.options.reporter.warn(warning.message, warning.detail);
  }
}

/**
 * The node's side of device sync. A device is a small replica of one folder whose only peer is
 * this node: it pushes its own `file.put` operations (origin = its device id) after uploading
 * their content, and reads the folder's feed from its own cursor. Every method opens with the
 * permission check: the account may use the folder (FolderAccess), and the device is its own.
 */
import type { Readable } from 'node:stream';
import type { Principal } from '../accounts/principal.js';
import {
  BadRequestError,
  DeviceRemovedError,
  ForbiddenError,
  NotFoundError,
} from '../core/errors.js';
import { AppError } from '../core/errors.js';
import { checkRelativePath } from '../folders/core/index.js';
import type { ChangeLog } from '../oplog/change-log.js';
import type { Op } from '../oplog/op.js';
import type { OpLogRepository } from '../oplog/oplog.repository.js';
import type { FeedPage } from './device-feed.js';
import { DeviceLacks } from './device-lacks.js';
import { DevicePoll, type PullRequest } from './device-poll.js';
import { DeviceRegistrar, type Registered } from './device-registrar.js';
import type { FolderAccess } from './folder-access.js';
import type { UploadStore } from './upload-store.js';
import type { DeviceListing, DeviceOwner, DeviceRepository } from './device.repository.js';
import type { BlockList } from '../folders/blocks.js';

/** What the service needs of a synced folder of this node. */
export interface DeviceFolder {
  readonly root: string;
  /** A file here with this content (or a finished upload), null when none. */
  contentFor(hash: string): Promise<string | null>;
  /** The block list of a content this folder has on disk (changed-block downloads). */
  blocksFor(hash: string): Promise<BlockList | null>;
  /** Contents of needed files its last pull could not get from any peer (at most `limit`). */
  stalledContents(limit: number): string[];
  /** Changes when contents may have joined `stalledContents`. */
  wantedTag(): string;
  /** Calls `listener` when `wantedTag` changes; returns the unsubscribe. */
  onWantedChange(listener: () => void): () => void;
  /**
   * What stalled is tried again now: a device uploaded content, or was removed (copies of its
   * versions may then retire).
   */
  retryStalled(): void;
  /** The laptops named `name` hold these wanted contents nowhere (FolderSync.authorLacks). */
  authorLacks(name: string, hashes: readonly string[]): void;
}

/** Stalled contents named to a device at once. */
const WANTED_LIMIT = 1000;

export interface DeviceServiceDeps {
  readonly oplog: OpLogRepository;
  readonly changes: ChangeLog;
  /** Who each device id belongs to (replicated) and the devices seen here. */
  readonly devices: DeviceRepository;
  readonly access: FolderAccess;
  /** Null when the node has no synced folders (a site on PostgreSQL). */
  readonly uploads: UploadStore | null;
  readonly folder: (id: string) => DeviceFolder | undefined;
  /** Ids that are nodes (this one and its peers): never accepted as a device id. */
  readonly isNode: (id: string) => Promise<boolean>;
  readonly nodeName: string;
  readonly now?: () => number;
}

/** A device route at a site on PostgreSQL, which keeps no synced folders (node/site.ts). */
export class NoFoldersHereError extends AppError {
  constructor() {
    super(
      404,
      'not_found',
      'Folder not found: this site keeps its data in PostgreSQL, where synced folders are not ' +
        'kept (a folder stays on a one-process node, on SQLite); sync with that node.',
    );
  }
}

export class UnprocessableError extends AppError {
  constructor(message: string) {
    super(422, 'validation_failed', message);
  }
}

export class DeviceService {
  /** Registrations (device-registrar.ts). */
  private readonly registrar: DeviceRegistrar;
  /** Pulls answered, or held as long polls (device-poll.ts). */
  private readonly poll: DevicePoll;
  private readonly lacks = new DeviceLacks();

  constructor(private readonly deps: DeviceServiceDeps) {
    this.registrar = new DeviceRegistrar(deps);
    this.poll = new DevicePoll(deps.oplog, deps.changes);
  }

  /** The folder, if this account may use it; 404 otherwise (nothing is revealed). */
  folderFor(principal: Principal, folder: string): DeviceFolder {
    // A site on PostgreSQL has none: said, so that `mosaic sync` pointed at it says why.
    if (this.deps.uploads === null) throw new NoFoldersHereError();
    const found = this.deps.folder(folder);
    if (!found || !this.deps.access.canUse(principal, folder)) throw new NotFoundError('Folder');
    return found;
  }

  /**
   * Registers (or finds again) a device of this account; says how far its ops are here
   * (device-registrar.ts: who may register which id).
   */
  async register(
    principal: Principal,
    folder: string,
    deviceId: string,
    name: string,
    nonce?: string,
  ): Promise<Registered> {
    this.folderFor(principal, folder);
    return this.registrar.register(principal, folder, deviceId, name, nonce);
  }

  /**
   * The folder's devices this account may see: its own, or every account's for an admin (who
   * else syncs a shared folder, and from where, is theirs to say).
   */
  async list(principal: Principal, folder: string): Promise<DeviceListing[]> {
    this.folderFor(principal, folder);
    const username = principal.role === 'admin' ? null : principal.username;
    return this.deps.devices.listFolder(folder, username);
  }

  /**
   * Removes a device from its folder, at every node (`device.remove`): it is refused from then
   * on, and no longer listed. Its owner or an admin may; to anyone else it does not exist (404,
   * as in the listing). Removing a removed device again changes nothing. What it pushed stays;
   * what it had not pushed never arrives. A version it wrote whose content no node holds can
   * then never come, so conflict copies of its versions may retire (unobtainable-copies.ts).
   */
  async remove(principal: Principal, folder: string, deviceId: string): Promise<void> {
    const found = this.folderFor(principal, folder);
    const owner = await this.deps.devices.owner(deviceId);
    const visible =
      owner !== null &&
      owner.folder === folder &&
      (principal.role === 'admin' || owner.username === principal.username);
    if (!visible) throw new NotFoundError('Device');
    if (owner.removed) return;
    await this.deps.changes.commitMany([{ kind: 'device.remove', deviceId }]);
    this.poll.wake();
    found.retryStalled();
  }

  /**
   * Devices registered here before ownership was replicated get their `device.put` now (once),
   * so that every node learns who they belong to.
   */
  announceLegacyDevices(): Promise<number> {
    return this.registrar.announceLegacyDevices();
  }

  /**
   * Applies a device's own operations: only `file.put` of this folder, from this device, with
   * paths that stay inside the folder (the same check as for peers). One bad operation refuses
   * the whole batch (422) and applies nothing.
   */
  async push(
    principal: Principal,
    folder: string,
    deviceId: string,
    ops: readonly Op[],
  ): Promise<number> {
    await this.deviceOf(principal, folder, deviceId);
    for (const op of ops) {
      if (op.origin !== deviceId) throw new UnprocessableError('An operation of another origin.');
      if (op.body.kind !== 'file.put' || op.body.folder !== folder) {
        throw new UnprocessableError('A device may only change files of its folder.');
      }
      // A '.mosaic' below the top is received all the same (an older device may have logged
      // one before it ignored them): the folder refuses to apply it, the operation stays inert.
      const check = checkRelativePath(op.body.path, { nestedInternal: true });
      if (!check.ok || check.path !== op.body.path) {
        throw new UnprocessableError(
          `Refused path ${JSON.stringify(op.body.path)}: ${check.ok ? 'not NFC' : check.reason}.`,
        );
      }
    }
    try {
      await this.deps.changes.receive(ops);
    } catch (error) {
      // The clock check (a device clock far ahead) and the like: the device's fault, not ours.
      throw new BadRequestError(`Operations refused: ${(error as Error).message}`);
    }
    return await this.deps.oplog.contiguous(deviceId);
  }

  /**
   * The folder's operations the device has not seen, at once or as a long poll (device-poll.ts:
   * `waitMs`, `wantedSeen`).
   */
  async pull(
    principal: Principal,
    folder: string,
    deviceId: string,
    request: PullRequest,
    /** Aborted when the device hangs up or loses access: its wait ends at once. */
    gone: AbortSignal,
  ): Promise<FeedPage & { wanted?: string }> {
    await this.deviceOf(principal, folder, deviceId);
    const found = this.folderFor(principal, folder);
    return this.poll.next(folder, found, deviceId, request, gone);
  }

  /** Which of these contents the node lacks, with the bytes of each already received. */
  async missing(
    principal: Principal,
    folder: string,
    hashes: readonly string[],
  ): Promise<{ hash: string; received: number }[]> {
    const found = this.folderFor(principal, folder);
    const out: { hash: string; received: number }[] = [];
    for (const hash of new Set(hashes)) {
      if ((await found.contentFor(hash)) !== null) continue;
      out.push({ hash, received: await this.uploads().received(found.root, hash) });
    }
    return out;
  }

  /**
   * Contents this node needs and no peer could send: the device uploads those it holds. Its
   * own acknowledged versions among them would otherwise be lost to every node if this node
   * lost their upload before placing them (a device is nobody else's peer).
   */
  wanted(principal: Principal, folder: string): string[] {
    return this.folderFor(principal, folder).stalledContents(WANTED_LIMIT);
  }

  /**
   * The device's answer to `wanted`: of those contents, these it holds nowhere (not even in its
   * trash). Once every device of its name (a version's record names its author by name) said so
   * of a content, this node's copies of their versions with it may retire: nobody can ever
   * bring them (unobtainable-copies.ts). Contents no longer wanted are ignored.
   */
  async lacking(
    principal: Principal,
    folder: string,
    deviceId: string,
    hashes: readonly string[],
  ): Promise<void> {
    const owner = await this.deviceOf(principal, folder, deviceId);
    const found = this.folderFor(principal, folder);
    const wanted = new Set(found.stalledContents(WANTED_LIMIT));
    const lacked = hashes.filter((hash) => wanted.has(hash));
    if (lacked.length === 0) return;
    this.lacks.add(folder, deviceId, lacked);
    // Its versions name it as it was named when it wrote them: first, or as renamed here since.
    const names = new Set([
      owner.name,
      (await this.deps.devices.localName(deviceId)) ?? owner.name,
    ]);
    for (const name of names) {
      const named = await this.deps.devices.idsNamed(folder, name);
      found.authorLacks(name, this.lacks.lackedByAll(folder, named, lacked));
    }
  }

  async upload(
    principal: Principal,
    folder: string,
    hash: string,
    size: number,
    offset: number,
    body: Readable,
  ): Promise<{ received: number; complete: boolean }> {
    const found = this.folderFor(principal, folder);
    if ((await found.contentFor(hash)) !== null) {
      body.resume();
      return { received: size, complete: true };
    }
    const result = await this.uploads().receive(folder, found.root, hash, size, offset, body);
    if (result.complete) found.retryStalled();
    return result;
  }

  async uploadBatch(principal: Principal, folder: string, body: Readable): Promise<number> {
    const found = this.folderFor(principal, folder);
    const stored = await this.uploads().receiveFrames(folder, found.root, body);
    if (stored > 0) found.retryStalled();
    return stored;
  }

  private uploads(): UploadStore {
    if (this.deps.uploads === null) throw new NoFoldersHereError();
    return this.deps.uploads;
  }

  /** Ends every long poll (the node is stopping). */
  close(): void {
    this.poll.close();
  }

  /** The device must be this account's, for this folder, by the cluster-wide owner record. */
  private async deviceOf(
    principal: Principal,
    folder: string,
    deviceId: string,
  ): Promise<DeviceOwner> {
    this.folderFor(principal, folder);
    const owner = await this.deps.devices.owner(deviceId);
    if (owner?.username !== principal.username || owner.folder !== folder) {
      throw new ForbiddenError(
        'Register this device first (its id belongs to no device of yours).',
      );
    }
    if (owner.removed) throw new DeviceRemovedError(folder);
    return owner;
  }
}

import type { AccountRepository } from '../accounts/account.repository.js';
import type { CredentialRepository } from '../accounts/credential.repository.js';
import type { PictureRepository } from '../pictures/picture.repository.js';
import { applyPictureOp, emptyPicture } from '../pictures/picture.state.js';
import type { Op, OpBody } from './op.js';
import { applyFilePut } from '../folders/folder-apply.js';
import type { FolderIndexRepository } from '../folders/folder-index.repository.js';
import type { DeviceRepository } from '../devices/device.repository.js';
import type { Executor, MetadataDialect } from '../storage/metadata/dialect.js';
import { applyAlbum } from '../albums/album-apply.js';
import type { AlbumRepository } from '../albums/album.repository.js';
import type { ShareRepository } from '../shares/share.repository.js';
import type { TrashRepository } from '../pictures/trash.repository.js';

export interface ApplyTargets {
  readonly pictures: PictureRepository;
  readonly accounts: AccountRepository;
  /** API tokens (`token.put`, `token.revoke`). */
  readonly credentials: CredentialRepository;
  /** Whether the bytes of a picture are in this node's blob store. */
  readonly hasBlob: (id: string) => boolean;
  /**
   * The folder index: SQLite only, on the store's connection, which the transaction holds
   * (folders stay on one machine). Null on a site on PostgreSQL: it logs and relays `file.put`
   * operations but keeps no folder index (docs/architecture.md, "Metadata store").
   */
  readonly folders: FolderIndexRepository | null;
  readonly devices: DeviceRepository;
  readonly albums: AlbumRepository;
  readonly shares: ShareRepository;
  readonly trash: TrashRepository;
  readonly selfId: string;
}

/**
 * Folds one operation into the materialized state. Must run inside the transaction (`trx`)
 * that appended the operation to the log, and only for operations the log did not have yet.
 * Idempotence and order-independence come from the merge rules themselves.
 *
 * Returns the follow-up changes this node must make in the same transaction: the conflict
 * copies a folder conflict calls for (folder-apply.ts). The caller logs them as its own
 * operations, so that they replicate.
 */
export async function applyOp(trx: Executor, targets: ApplyTargets, op: Op): Promise<OpBody[]> {
  const body = op.body;
  switch (body.kind) {
    case 'picture.create':
    case 'picture.update':
    case 'picture.delete':
    case 'picture.restore': {
      const stored = await targets.pictures.get(body.id, trx);
      const next = applyPictureOp(stored?.state ?? emptyPicture(body.id), body, op.hlc);
      // A re-upload may have just brought the bytes back: look again when the row says none.
      await targets.pictures.save(trx, next, stored?.hasBlob === true || targets.hasBlob(body.id));
      return [];
    }
    case 'user.put':
      await targets.accounts.putUser(
        trx,
        { username: body.username, passwordHash: body.passwordHash, role: body.role },
        op.hlc,
        body.seed === true ? 'seed' : body.signOut === true ? 'change' : 'create',
      );
      return [];
    case 'user.access':
      await targets.accounts.setAccess(
        trx,
        body.username,
        { role: body.role, disabled: body.disabled },
        op.hlc,
      );
      return [];
    case 'file.put':
      if (targets.folders === null) return [];
      return applyFilePut(targets.folders, body, {
        hlc: op.hlc,
        origin: op.origin,
        selfId: targets.selfId,
      }).copies;
    case 'token.put':
      await targets.credentials.putToken(
        trx,
        {
          tokenId: body.tokenId,
          username: body.username,
          name: body.name,
          tokenHash: body.tokenHash,
          createdAt: body.createdAt,
          expiresAt: body.expiresAt ?? null,
        },
        op.hlc,
      );
      return [];
    case 'token.revoke':
      await targets.credentials.revokeToken(trx, body.tokenId, op.hlc);
      return [];
    case 'device.put':
      await targets.devices.putOwner(
        trx,
        {
          deviceId: body.deviceId,
          username: body.username,
          folder: body.folder,
          name: body.name,
        },
        op.hlc,
      );
      return [];
    case 'device.remove':
      await targets.devices.remove(trx, body.deviceId, op.hlc);
      return [];
    case 'picture.purge':
      await targets.trash.purge(trx, body.id, op.hlc);
      return [];
    case 'album.create':
    case 'album.update':
    case 'album.delete':
    case 'album.add':
    case 'album.remove':
      await applyAlbum(trx, targets.albums, body, op.hlc);
      return [];
    case 'share.put':
      await targets.shares.put(
        trx,
        {
          id: body.id,
          target: body.target,
          targetId: body.targetId,
          owner: body.owner,
          createdAt: body.createdAt,
          expiresAt: body.expiresAt ?? null,
          passwordHash: body.passwordHash ?? null,
        },
        op.hlc,
      );
      return [];
    case 'share.revoke':
      await targets.shares.revoke(trx, body.id, op.hlc);
      return [];
  }
}

/**
 * The names of the rows applying `body` reads and writes, for `lockTargets`: every writer of
 * those rows through `applyOp` takes them first, so appliers of one row run in turn and each
 * reads what the one before committed. An album's memberships go under the album's name;
 * a purge under its picture's. `file.put` has none: folders are SQLite only (one writer).
 */
export function targetKeys(body: OpBody): string[] {
  switch (body.kind) {
    case 'picture.create':
    case 'picture.update':
    case 'picture.delete':
    case 'picture.restore':
    case 'picture.purge':
      return [pictureKey(body.id)];
    case 'album.create':
    case 'album.update':
    case 'album.delete':
    case 'album.add':
    case 'album.remove':
      return [`apply:album:${body.id}`];
    case 'user.put':
    case 'user.access':
      return [`apply:user:${body.username}`];
    case 'token.put':
    case 'token.revoke':
      return [`apply:token:${body.tokenId}`];
    case 'device.put':
    case 'device.remove':
      return [`apply:device:${body.deviceId}`];
    case 'share.put':
    case 'share.revoke':
      return [`apply:share:${body.id}`];
    case 'file.put':
      return [];
  }
}

function pictureKey(id: string): string {
  return `apply:picture:${id}`;
}

/**
 * Locks the rows that applying `bodies` touches, until the transaction ends, all in one
 * statement and one global order (PostgreSQL advisory locks; nothing on SQLite, whose write
 * transaction already excludes every other writer). Without it two processes of a site
 * applying ops on the same pictures in opposite orders deadlocked, and two applying ops on one
 * picture read the same row and the second overwrote the first's merge.
 */
export async function lockTargets(
  trx: Executor,
  dialect: MetadataDialect,
  bodies: readonly OpBody[],
): Promise<void> {
  const keys = new Set<string>();
  for (const body of bodies) for (const key of targetKeys(body)) keys.add(key);
  await dialect.lockAllUntilCommit([...keys])?.execute(trx);
}

/**
 * The appliers' locks of pictures `ids`, for a writer of several picture rows outside
 * `applyOp` (blob-sync marking bytes arrived): taken first, they keep it from holding one row
 * an applier wants while it waits for another the applier holds.
 */
export async function lockPictures(
  trx: Executor,
  dialect: MetadataDialect,
  ids: readonly string[],
): Promise<void> {
  await dialect.lockAllUntilCommit([...new Set(ids.map(pictureKey))])?.execute(trx);
}

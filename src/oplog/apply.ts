import type { AccountRepository } from '../accounts/account.repository.js';
import type { PictureRepository } from '../pictures/picture.repository.js';
import { applyPictureOp, emptyPicture } from '../pictures/picture.state.js';
import type { Op, OpBody } from './op.js';
import { applyFilePut } from '../folders/folder-apply.js';
import type { FolderIndexRepository } from '../folders/folder-index.repository.js';
import type { DeviceRepository } from '../devices/device.repository.js';

export interface ApplyTargets {
  readonly pictures: PictureRepository;
  readonly accounts: AccountRepository;
  /** Whether the bytes of a picture are in this node's blob store. */
  readonly hasBlob: (id: string) => boolean;
  readonly folders: FolderIndexRepository;
  readonly devices: DeviceRepository;
  readonly selfId: string;
}

/**
 * Folds one operation into the materialized state. Must run inside the transaction that
 * appended the operation to the log, and only for operations the log did not have yet.
 * Idempotence and order-independence come from the merge rules themselves.
 *
 * Returns the follow-up changes this node must make in the same transaction: the conflict
 * copies a folder conflict calls for (folder-apply.ts). The caller logs them as its own
 * operations, so that they replicate.
 */
export function applyOp(targets: ApplyTargets, op: Op): OpBody[] {
  const body = op.body;
  switch (body.kind) {
    case 'picture.create':
    case 'picture.update':
    case 'picture.delete': {
      const stored = targets.pictures.get(body.id);
      const next = applyPictureOp(stored?.state ?? emptyPicture(body.id), body, op.hlc);
      // A re-upload may have just brought the bytes back: look again when the row says none.
      targets.pictures.save(next, stored?.hasBlob === true || targets.hasBlob(body.id));
      return [];
    }
    case 'user.put':
      targets.accounts.putUser(
        { username: body.username, passwordHash: body.passwordHash, role: body.role },
        op.hlc,
      );
      return [];
    case 'file.put':
      return applyFilePut(targets.folders, body, {
        hlc: op.hlc,
        origin: op.origin,
        selfId: targets.selfId,
      }).copies;
    case 'token.put':
      targets.accounts.putToken(
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
      targets.accounts.revokeToken(body.tokenId, op.hlc);
      return [];
    case 'device.put':
      targets.devices.putOwner(
        {
          deviceId: body.deviceId,
          username: body.username,
          folder: body.folder,
          name: body.name,
        },
        op.hlc,
      );
      return [];
  }
}

/**
 * The device API's messages (`mosaic sync` ↔ node), validated on both sides with these schemas.
 * Operations travel in the same shape as between peers (replication/op-schema.ts).
 */
import { z } from 'zod';
import { SHA256_HEX } from '../core/ids.js';
import { OpSchema } from '../replication/op-schema.js';

export const DeviceId = z.string().regex(/^[0-9a-f]{16}$/, 'A device id is 16 hex digits.');
export const DeviceName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'A device name uses letters, digits, ".", "_" and "-".');
export const FolderId = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/);
export const Sha256 = z.string().regex(SHA256_HEX);

/**
 * How far a device has read the node's feed of its folder: per origin, the sequence number up to
 * which every operation of that origin for this folder has been received.
 */
export const DeviceCursor = z.record(DeviceId, z.number().int().nonnegative());
export type DeviceCursor = z.infer<typeof DeviceCursor>;

export const FolderParams = z.strictObject({ folder: FolderId });
export const DeviceParams = FolderParams.extend({ device: DeviceId });
export const ContentParams = FolderParams.extend({ hash: Sha256 });

export const RegisterRequest = z.strictObject({
  deviceId: DeviceId,
  name: DeviceName,
  /** The nonce the id is derived from with the account's name (core/device-id.ts). */
  nonce: z
    .string()
    .regex(/^[0-9a-f]{32}$/, 'A device nonce is 32 hex digits.')
    .optional(),
});
export const RegisterResponse = z.strictObject({
  deviceId: DeviceId,
  folder: FolderId,
  node: z.string(),
  /** Every operation of this device up to this sequence is at the node (push from here). */
  acked: z.number().int().nonnegative(),
});

/** A device of a folder, as GET /api/folders/:folder/devices lists it. */
export const DeviceView = z.strictObject({
  id: DeviceId,
  /** The name it last registered with at this node, else the one it first registered with. */
  name: z.string(),
  /** The account it belongs to. */
  owner: z.string(),
  /** When it last registered or came back at this node (ISO 8601); null: never at this node. */
  lastSeen: z.iso.datetime().nullable(),
});
export const DeviceListResponse = z.array(DeviceView);

export const DevicePushRequest = z.strictObject({ ops: z.array(OpSchema).max(2000) });
export const DevicePushResponse = z.strictObject({ acked: z.number().int().nonnegative() });

export const DevicePullRequest = z.strictObject({
  cursor: DeviceCursor,
  limit: z.number().int().min(1).max(2000),
  /** Long poll: when nothing is new, wait up to this long for a change (0: answer at once). */
  waitMs: z.number().int().min(0).max(30_000).default(0),
  /**
   * The `wanted` tag of the last answer ('' at first): the answer then carries the node's tag
   * and comes at once when it differs (the node wants contents a device may hold).
   */
  wantedSeen: z.string().max(64).optional(),
});
export const DevicePullResponse = z.strictObject({
  ops: z.array(OpSchema),
  cursor: DeviceCursor,
  /** More operations are ready: ask again at once. */
  more: z.boolean(),
  /** Only when asked with `wantedSeen`: a new value says to look at GET …/wanted. */
  wanted: z.string().max(64).optional(),
});

export const UploadCheckRequest = z.strictObject({ hashes: z.array(Sha256).min(1).max(1000) });
export const UploadCheckResponse = z.strictObject({
  /** Contents the node has neither in the folder nor as a finished upload, with what it has of each. */
  missing: z.array(z.strictObject({ hash: Sha256, received: z.number().int().nonnegative() })),
});

export const UploadQuery = z.strictObject({
  size: z.coerce.number().int().nonnegative(),
  offset: z.coerce.number().int().nonnegative().default(0),
});
export const UploadResponse = z.strictObject({
  received: z.number().int().nonnegative(),
  complete: z.boolean(),
});
export const WantedResponse = z.strictObject({ hashes: z.array(Sha256).max(1000) });
/** Of the node's wanted contents, those the device holds nowhere (not even in its trash). */
export const LackingRequest = z.strictObject({ hashes: z.array(Sha256).min(1).max(1000) });
export const BatchUploadResponse = z.strictObject({ stored: z.number().int().nonnegative() });

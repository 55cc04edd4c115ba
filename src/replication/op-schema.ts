/**
 * Schemas for what peers send. Every peer message is validated here before it touches the
 * database: a peer with the cluster key is trusted to be a member, not to be bug-free.
 */
import { z } from 'zod';
import { isHlc } from '../core/hlc.js';
import { SHA256_HEX } from '../core/ids.js';
import { IMAGE_TYPES } from '../oplog/op.js';

const NodeId = z.string().regex(/^[0-9a-f]{16}$/);
const Hlc = z.string().refine(isHlc, 'not an HLC timestamp');
const Sha = z.string().regex(SHA256_HEX);
const Text = (max: number) => z.string().max(max);
/** Album and share link ids: 128 random bits, hex. */
const Id128 = z.string().regex(/^[0-9a-f]{32}$/);
const Name = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/);

const OpBodySchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('picture.create'),
    id: Sha,
    contentType: z.enum(IMAGE_TYPES),
    size: z.number().int().nonnegative(),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    owner: Text(64),
    originName: Name,
    createdAt: z.number().int().nonnegative(),
    title: Text(200),
    category: Text(64),
    desc: Text(5000),
  }),
  z.strictObject({
    kind: z.literal('picture.update'),
    id: Sha,
    title: Text(200).optional(),
    category: Text(64).optional(),
    desc: Text(5000).optional(),
  }),
  z.strictObject({ kind: z.literal('picture.delete'), id: Sha }),
  z.strictObject({ kind: z.literal('picture.restore'), id: Sha }),
  z.strictObject({ kind: z.literal('picture.purge'), id: Sha }),
  z.strictObject({
    kind: z.literal('album.create'),
    id: Id128,
    owner: Text(64),
    createdAt: z.number().int().nonnegative(),
    name: Text(200),
    desc: Text(5000),
  }),
  z.strictObject({
    kind: z.literal('album.update'),
    id: Id128,
    name: Text(200).optional(),
    desc: Text(5000).optional(),
    cover: z.union([Sha, z.literal('')]).optional(),
  }),
  z.strictObject({ kind: z.literal('album.delete'), id: Id128 }),
  z.strictObject({ kind: z.literal('album.add'), id: Id128, pictures: z.array(Sha).max(500) }),
  z.strictObject({
    kind: z.literal('album.remove'),
    id: Id128,
    pictures: z.array(Sha).max(500),
  }),
  z.strictObject({
    kind: z.literal('share.put'),
    id: Id128,
    target: z.enum(['picture', 'album']),
    targetId: z.union([Sha, Id128]),
    owner: Text(64),
    createdAt: z.number().int().nonnegative(),
    expiresAt: z.number().int().nonnegative().optional(),
    passwordHash: Text(512).optional(),
  }),
  z.strictObject({ kind: z.literal('share.revoke'), id: Id128 }),
  z.strictObject({
    kind: z.literal('user.put'),
    username: Text(64),
    passwordHash: Text(512),
    role: z.enum(['admin', 'user']),
    signOut: z.literal(true).optional(),
    seed: z.literal(true).optional(),
  }),
  z.strictObject({
    kind: z.literal('user.access'),
    username: Text(64),
    role: z.enum(['admin', 'user']).optional(),
    disabled: z.boolean().optional(),
  }),
  z.strictObject({
    kind: z.literal('file.put'),
    folder: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
    // Shape only: whether a path is safe is decided where it is applied (and refused there),
    // so that one bad path cannot block the rest of a batch.
    path: z.string().min(1).max(4096),
    entry: z.enum(['file', 'dir']),
    deleted: z.boolean(),
    hash: Sha.nullable(),
    size: z.number().int().nonnegative(),
    mtimeMs: z.number().int().nonnegative(),
    vv: z.record(z.string().max(64), z.number().int().positive()),
    originName: Name,
  }),
  z.strictObject({
    kind: z.literal('token.put'),
    tokenId: z.string().regex(/^[0-9a-f]{16}$/),
    username: Text(64),
    name: Text(100),
    tokenHash: Sha,
    createdAt: z.number().int().nonnegative(),
    expiresAt: z.number().int().nonnegative().optional(),
  }),
  z.strictObject({ kind: z.literal('token.revoke'), tokenId: z.string().regex(/^[0-9a-f]{16}$/) }),
  z.strictObject({
    kind: z.literal('device.put'),
    deviceId: NodeId,
    username: Text(64),
    folder: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
    name: Name,
  }),
  z.strictObject({ kind: z.literal('device.remove'), deviceId: NodeId }),
]);

export const OpSchema = z.strictObject({
  origin: NodeId,
  seq: z.number().int().positive(),
  hlc: Hlc,
  body: OpBodySchema,
});

export const VersionVectorSchema = z.record(NodeId, z.number().int().nonnegative());

export const PeerInfoSchema = z.strictObject({
  nodeId: NodeId,
  name: Name,
  url: z.url({ protocol: /^https?$/ }).nullable(),
});

export const HelloRequest = PeerInfoSchema;
export const HelloResponse = z.strictObject({
  nodeId: NodeId,
  name: Name,
  url: z.url({ protocol: /^https?$/ }).nullable(),
  version: z.string(),
  vv: VersionVectorSchema,
  /** Bytes of pictures this node knows of but has not fetched yet. */
  pendingBlobBytes: z.number().int().nonnegative(),
});

export const PushRequest = z.strictObject({ ops: z.array(OpSchema).max(5000) });
export const RejectionSchema = z.strictObject({
  origin: z.string().max(64),
  seq: z.number().int(),
  code: z.enum(['own_origin', 'not_sender', 'foreign_hlc', 'clock_ahead', 'conflict']),
  message: z.string().max(500),
});
/** `rejected`: the pushed operations the receiver refused (ChangeLog.receive says why). */
export const PushResponse = z.strictObject({
  applied: z.number().int(),
  rejected: z.array(RejectionSchema).optional(),
  vv: VersionVectorSchema,
});

const Position = z.strictObject({ origin: NodeId, seq: z.number().int().nonnegative() });
export const PullRequest = z.strictObject({
  vv: VersionVectorSchema,
  after: Position.nullable(),
  limit: z.number().int().min(1).max(5000),
});
export const PullResponse = z.strictObject({ ops: z.array(OpSchema), next: Position.nullable() });

export const BlobParams = z.strictObject({ hash: Sha });

/** A folder content's block list (GET /peer/folders/:folder/blocks/:hash). */
export const BlocksResponse = z.strictObject({
  blockSize: z.number().int().positive(),
  blocks: z.base64().max(4 * 1024 * 1024),
});

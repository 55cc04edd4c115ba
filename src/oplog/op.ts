/**
 * Operations: every change a node makes is one of these, stamped with a hybrid logical clock
 * and (origin node id, sequence). The same apply path handles local and replicated operations,
 * so a change made here and the same change received from a peer end in the same state.
 */
export type Role = 'admin' | 'user';

/** The image types Mosaic accepts, judged by content. */
export const IMAGE_TYPES = [
  'image/jpeg',
  'image/png',
  'image/webp',
  'image/gif',
  'image/avif',
  'image/heic',
] as const;
export type ImageType = (typeof IMAGE_TYPES)[number];

export interface PictureCreate {
  readonly kind: 'picture.create';
  readonly id: string;
  readonly contentType: ImageType;
  readonly size: number;
  readonly width: number;
  readonly height: number;
  readonly owner: string;
  /** Name of the node where the bytes were uploaded. */
  readonly originName: string;
  readonly createdAt: number;
  readonly title: string;
  readonly category: string;
  readonly desc: string;
}

export interface PictureUpdate {
  readonly kind: 'picture.update';
  readonly id: string;
  readonly title?: string | undefined;
  readonly category?: string | undefined;
  readonly desc?: string | undefined;
}

export interface PictureDelete {
  readonly kind: 'picture.delete';
  readonly id: string;
}

export interface UserPut {
  readonly kind: 'user.put';
  readonly username: string;
  readonly passwordHash: string;
  readonly role: Role;
}

export interface TokenPut {
  readonly kind: 'token.put';
  readonly tokenId: string;
  readonly username: string;
  readonly name: string;
  /** SHA-256 of the secret token: the token itself never leaves the node that issued it. */
  readonly tokenHash: string;
  readonly createdAt: number;
  /** When the token stops working (ms since the epoch); absent: never. */
  readonly expiresAt?: number | undefined;
}

/** Revokes an API token everywhere. A revocation wins over any put of the same token. */
export interface TokenRevoke {
  readonly kind: 'token.revoke';
  readonly tokenId: string;
}

/**
 * A device (`mosaic sync`) registered for an account and a folder. Replicated so that a device
 * id belongs to one account everywhere; concurrent registrations of one id: the lowest HLC wins.
 */
export interface DevicePut {
  readonly kind: 'device.put';
  readonly deviceId: string;
  readonly username: string;
  readonly folder: string;
  readonly name: string;
}

/**
 * A new version of one path of a synced folder (a file, a directory, or a deletion). The HLC and
 * origin of the version are the operation's own.
 */
export interface FilePut {
  readonly kind: 'file.put';
  readonly folder: string;
  readonly path: string;
  readonly entry: 'file' | 'dir';
  readonly deleted: boolean;
  readonly hash: string | null;
  readonly size: number;
  readonly mtimeMs: number;
  readonly vv: Readonly<Record<string, number>>;
  readonly originName: string;
}

export type OpBody =
  | PictureCreate
  | PictureUpdate
  | PictureDelete
  | UserPut
  | TokenPut
  | TokenRevoke
  | DevicePut
  | FilePut;
export type OpKind = OpBody['kind'];

export interface Op {
  readonly origin: string;
  readonly seq: number;
  readonly hlc: string;
  readonly body: OpBody;
}

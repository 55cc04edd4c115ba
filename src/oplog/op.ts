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
  /**
   * A password change or reset: the account's sessions end at every node where this put wins.
   * Absent for an account's creation (two nodes seeding `admin` with the same password make
   * two different hashes: the one that loses must not sign anybody out).
   */
  readonly signOut?: true | undefined;
  /**
   * The `admin` account a node creates at its first start: the weakest claim on the password
   * (and none on the role), so a node joining a cluster does not replace the cluster's admin
   * password (src/accounts/core/password-claim.ts).
   */
  readonly seed?: true | undefined;
}

/**
 * An admin changes an account's role or disables (or enables) it. Each is a register of its
 * own, apart from the password (src/accounts/core/access.ts): a password change made meanwhile
 * at another node keeps both. Disabling ends the account's sessions at every node and refuses
 * its tokens; its pictures, albums and folders stay.
 */
export interface UserAccess {
  readonly kind: 'user.access';
  readonly username: string;
  readonly role?: Role | undefined;
  readonly disabled?: boolean | undefined;
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
 * A device removed from its folder by its owner or an admin: refused at every node from then
 * on, whatever it sends. A removal wins over any put of the same device, in any order.
 */
export interface DeviceRemove {
  readonly kind: 'device.remove';
  readonly deviceId: string;
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

/**
 * An album (src/albums/core/album-state.ts): created by anyone signed in; its name, description
 * and cover are last-writer-wins registers, its pictures a set of (album, picture) entries each
 * decided by the add or remove with the highest HLC.
 */
export interface AlbumCreate {
  readonly kind: 'album.create';
  readonly id: string;
  readonly owner: string;
  readonly createdAt: number;
  readonly name: string;
  readonly desc: string;
}

export interface AlbumUpdate {
  readonly kind: 'album.update';
  readonly id: string;
  readonly name?: string | undefined;
  readonly desc?: string | undefined;
  /** A picture id, or '' for none (the newest picture of the album is shown then). */
  readonly cover?: string | undefined;
}

export interface AlbumDelete {
  readonly kind: 'album.delete';
  readonly id: string;
}

/** Puts pictures into (`album.add`) or takes them out of (`album.remove`) an album. */
export interface AlbumAdd {
  readonly kind: 'album.add';
  readonly id: string;
  readonly pictures: string[];
}

export interface AlbumRemove {
  readonly kind: 'album.remove';
  readonly id: string;
  readonly pictures: string[];
}

export type AlbumMembers = AlbumAdd | AlbumRemove;

/**
 * A link that shows one picture or one album to anyone who has it (src/shares/): its id is the
 * secret (128 random bits). A revocation wins over the put, in any order.
 */
export interface SharePut {
  readonly kind: 'share.put';
  readonly id: string;
  readonly target: 'picture' | 'album';
  readonly targetId: string;
  readonly owner: string;
  readonly createdAt: number;
  readonly expiresAt?: number | undefined;
  /** scrypt hash (accounts/password.ts) of the link's password; absent: none. */
  readonly passwordHash?: string | undefined;
}

export interface ShareRevoke {
  readonly kind: 'share.revoke';
  readonly id: string;
}

/**
 * Brings a deleted picture back from the trash: ordered after the delete, it makes the picture
 * alive again by the delete-vs-edit rule (picture.state.ts), with the fields it had.
 */
export interface PictureRestore {
  readonly kind: 'picture.restore';
  readonly id: string;
}

/**
 * Empties a deleted picture out of the trash at every node (its bytes are removed now rather
 * than at the end of the retention). Purges only the deletes ordered before it: a picture
 * brought back later (re-upload, restore from a node that still had it) is not affected.
 */
export interface PicturePurge {
  readonly kind: 'picture.purge';
  readonly id: string;
}

export type OpBody =
  | PictureCreate
  | PictureUpdate
  | PictureDelete
  | UserPut
  | UserAccess
  | TokenPut
  | TokenRevoke
  | DevicePut
  | DeviceRemove
  | FilePut
  | PictureRestore
  | PicturePurge
  | AlbumCreate
  | AlbumUpdate
  | AlbumDelete
  | AlbumAdd
  | AlbumRemove
  | SharePut
  | ShareRevoke;
export type OpKind = OpBody['kind'];

export interface Op {
  readonly origin: string;
  readonly seq: number;
  readonly hlc: string;
  readonly body: OpBody;
}

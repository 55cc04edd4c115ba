/**
 * The API of albums, share links, the trash, passwords and accounts, beside client.ts: the
 * same same-origin JSON requests and the same ApiError for failures.
 */
import { jsonRequest } from './client';
import type { Person, Picture, User } from './types';

export interface Album {
  readonly id: string;
  readonly name: string;
  readonly desc: string;
  readonly owner: string;
  readonly createdAt: string;
  /** The picture shown for it (its cover, else its newest); null when empty. */
  readonly coverId: string | null;
  readonly count: number;
}

/** An API token as its owner sees it (`mosaic login` makes one per machine). */
export interface ApiToken {
  readonly id: string;
  readonly name: string;
  readonly username: string;
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly expired: boolean;
  /** Last accepted at this node (to the minute); null: never here. */
  readonly lastUsed: string | null;
}

export interface Share {
  readonly id: string;
  readonly target: 'picture' | 'album';
  readonly targetId: string;
  readonly owner: string;
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly expired: boolean;
  readonly hasPassword: boolean;
  readonly path: string;
  /** The picture's title or the album's name; null once it is gone (deleted, or not here). */
  readonly title: string | null;
}

export interface SharedView {
  readonly id: string;
  readonly target: 'picture' | 'album';
  readonly title: string;
  readonly desc: string;
  readonly expiresAt: string | null;
  readonly locked: boolean;
}

export interface SharedPicture {
  readonly id: string;
  readonly title: string;
  readonly desc: string;
  readonly contentType: string;
  readonly size: number;
  readonly width: number;
  readonly height: number;
  readonly createdAt: string;
}

export interface TrashItem {
  readonly id: string;
  readonly title: string;
  readonly category: string;
  readonly contentType: string;
  readonly size: number;
  readonly width: number;
  readonly height: number;
  readonly owner: string;
  readonly createdAt: string;
  readonly deletedAt: string;
  readonly purgeAt: string;
}

interface Page<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

/** A page of the trash; `total` is the whole trash, `yours` what the viewer may empty of it. */
export interface TrashPage extends Page<TrashItem> {
  readonly retentionDays: number;
  readonly total: number;
  readonly yours: number;
}

const request = jsonRequest();
/**
 * Emptying the trash purges all of it in one request, 200 pictures a transaction: a trash of
 * thousands takes longer than the usual time limit, which would then say "did not answer" of
 * a node at work.
 */
const longRequest = jsonRequest(undefined, { timeoutMs: 10 * 60_000 });

const id = encodeURIComponent;
const page = (cursor: string | null | undefined) =>
  cursor ? `?cursor=${encodeURIComponent(cursor)}` : '';

export const shareThumbUrl = (shareId: string, pictureId: string, size: 'small' | 'large') =>
  `/api/s/${id(shareId)}/pictures/${id(pictureId)}/thumb?size=${size}`;
export const shareFileUrl = (shareId: string, pictureId: string, download = false) =>
  `/api/s/${id(shareId)}/pictures/${id(pictureId)}/file${download ? '?download=1' : ''}`;

/** Pictures per page of the trash list. */
export const TRASH_PAGE = 50;

export const trashThumbUrl = (pictureId: string) => `/api/trash/${id(pictureId)}/thumb`;

export const library = {
  albums: () => request<{ items: Album[] }>('GET', '/api/albums').then((r) => r.items),
  album: (albumId: string) => request<Album>('GET', `/api/albums/${id(albumId)}`),
  createAlbum: (name: string, desc = '') => request<Album>('POST', '/api/albums', { name, desc }),
  updateAlbum: (albumId: string, patch: { name?: string; desc?: string; cover?: string }) =>
    request<Album>('PATCH', `/api/albums/${id(albumId)}`, patch),
  deleteAlbum: (albumId: string) => request<null>('DELETE', `/api/albums/${id(albumId)}`),
  albumPictures: (albumId: string, cursor?: string | null) =>
    request<Page<Picture>>('GET', `/api/albums/${id(albumId)}/pictures${page(cursor)}`),
  changeAlbum: (albumId: string, change: { add?: string[]; remove?: string[] }) =>
    request<Album>('POST', `/api/albums/${id(albumId)}/pictures`, change),

  shares: () => request<{ items: Share[] }>('GET', '/api/shares').then((r) => r.items),
  createShare: (body: {
    target: 'picture' | 'album';
    targetId: string;
    expiresInDays?: number;
    password?: string;
  }) => request<Share>('POST', '/api/shares', body),
  revokeShare: (shareId: string) => request<null>('DELETE', `/api/shares/${id(shareId)}`),

  /** Your API tokens (never their secret), oldest first. */
  tokens: () => request<{ items: ApiToken[] }>('GET', '/api/tokens').then((r) => r.items),
  /** A new token: its secret is in the answer, and only there. */
  createToken: (body: { name: string; expiresInDays?: number }) =>
    request<ApiToken & { token: string }>('POST', '/api/tokens', body),
  /** Stops the token at every node once replicated. */
  revokeToken: (tokenId: string) => request<null>('DELETE', `/api/tokens/${id(tokenId)}`),

  shared: (shareId: string) => request<SharedView>('GET', `/api/s/${id(shareId)}`),
  unlockShared: (shareId: string, password: string) =>
    request<null>('POST', `/api/s/${id(shareId)}/unlock`, { password }),
  sharedPictures: (shareId: string, cursor?: string | null) =>
    request<Page<SharedPicture>>('GET', `/api/s/${id(shareId)}/pictures${page(cursor)}`),

  /** The trash a page at a time (TRASH_PAGE pictures; `cursor`: the page before's nextCursor). */
  trash: (cursor?: string | null) =>
    request<TrashPage>(
      'GET',
      `/api/trash?limit=${TRASH_PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    ),
  restore: (pictureId: string) => request<null>('POST', `/api/trash/${id(pictureId)}/restore`),
  purge: (pictureId: string) => request<null>('DELETE', `/api/trash/${id(pictureId)}`),
  emptyTrash: () => longRequest<{ purged: number }>('DELETE', '/api/trash'),

  changePassword: (oldPassword: string, newPassword: string) =>
    request<null>('POST', '/api/auth/password', { oldPassword, newPassword }),
  resetPassword: (username: string, password: string) =>
    request<null>('PUT', `/api/users/${id(username)}/password`, { password }),

  /** Every account, by name (admins). */
  users: () => request<{ items: Person[] }>('GET', '/api/users').then((r) => r.items),
  /** Adds an account at every node (admins); 409 when the name is taken. */
  addUser: (body: { username: string; password: string; admin: boolean }) =>
    request<User>('POST', '/api/users', body),
  /** Makes an account an admin or not, disables or enables it, at every node (admins). */
  setAccess: (username: string, change: { role?: 'admin' | 'user'; disabled?: boolean }) =>
    request<Person>('PATCH', `/api/users/${id(username)}`, change),
};

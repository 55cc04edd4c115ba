/** The public API's shapes, as the web app sees them (shared/design.md, "HTTP API"). */

export interface User {
  readonly username: string;
  readonly role: 'admin' | 'user';
}

/** An account as an admin's list shows it. */
export interface Person extends User {
  /** Disabled by an admin: signed out everywhere, cannot sign in, tokens refused. */
  readonly disabled: boolean;
}

export interface Picture {
  readonly id: string;
  readonly title: string;
  readonly category: string;
  readonly desc: string;
  readonly contentType: string;
  readonly size: number;
  readonly width: number;
  readonly height: number;
  readonly owner: string;
  readonly origin: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  // Photo facts read from EXIF/XMP (issue 15). Servers before it send none of them, and a
  // picture without the tag has null: the app falls back (date added instead of date taken).
  /** When it was taken, ISO 8601, with the camera's offset when known. */
  readonly takenAt?: string | null;
  readonly camera?: Camera | null;
  readonly exposure?: Exposure | null;
  readonly gps?: Gps | null;
  /** EXIF orientation, 1–8 (the thumbnails are already turned upright). */
  readonly orientation?: number | null;
}

export interface Camera {
  readonly make?: string | null;
  readonly model?: string | null;
  readonly lens?: string | null;
}

export interface Exposure {
  /** Seconds, e.g. 0.004 for 1/250. */
  readonly exposureTime?: number | null;
  readonly fNumber?: number | null;
  readonly focalLength?: number | null;
  readonly iso?: number | null;
}

export interface Gps {
  readonly latitude: number;
  readonly longitude: number;
  readonly altitude?: number | null;
}

/** A category of the library and how many pictures it holds (`GET /api/categories`). */
export interface CategoryCount {
  readonly name: string;
  readonly count: number;
}

/** `GET /api/timeline`: how many pictures each month holds (under the gallery's filter). */
export interface Timeline {
  readonly months: { readonly month: string; readonly count: number }[];
}

export interface PictureList {
  readonly items: Picture[];
  readonly nextCursor: string | null;
}

export interface PicturePatch {
  title?: string;
  category?: string;
  desc?: string;
}

export type PeerState = 'unknown' | 'up' | 'down';

export interface Peer {
  readonly id: string | null;
  readonly name: string | null;
  readonly url: string;
  readonly state: PeerState;
  readonly lastSeen: string | null;
  readonly error?: string | null;
  readonly lag: { readonly ops: number; readonly bytes: number };
}

export interface ClusterView {
  readonly self: { readonly id: string; readonly name: string; readonly url: string | null };
  readonly peers: Peer[];
}

export type FolderState = 'idle' | 'scanning' | 'syncing' | 'paused';

export interface Folder {
  readonly id: string;
  readonly path: string;
  readonly state: FolderState;
  readonly files: number;
  readonly bytes: number;
  readonly needFiles: number;
  readonly conflicts: number;
}

/** A laptop that syncs a folder with `mosaic sync` (GET /api/folders/:folder/devices). */
export interface FolderDevice {
  readonly id: string;
  readonly name: string;
  readonly owner: string;
  /** When it last registered or came back at this node (ISO 8601); null: never here. */
  readonly lastSeen: string | null;
}

export type EventPhase = 'creating' | 'collecting' | 'voting' | 'published' | 'aborted';
export type EventRole = 'organiser' | 'participant' | 'visitor';

export interface EventPhoto {
  readonly id: string;
  readonly participant: string;
  readonly site: string;
  readonly addedAt: string;
}

export interface EventParticipant {
  readonly id: string;
  readonly name: string;
  readonly site: string;
  readonly submitted: boolean;
  readonly voted: boolean;
}

/** A group photo event (the contract agreed with the events API). */
export interface MosaicEvent {
  readonly id: string;
  readonly title: string;
  /** Name of the master node. */
  readonly origin: string;
  readonly phase: EventPhase;
  readonly round: number;
  /** 0: no photo yet. */
  readonly montageVersion: number;
  readonly photos: EventPhoto[];
  readonly participants: EventParticipant[];
  /** ISO time, while voting. */
  readonly deadline: string | null;
  readonly votes: { readonly cast: number; readonly needed: number };
  readonly votingSeconds: number;
  readonly maxParticipants: number;
  readonly inviteUrl: string | null;
  readonly publishedAt: string | null;
  /** Every site holding the event; 'waiting' while the master waits for its answer. */
  readonly sites?: readonly EventSite[];
  readonly me: {
    readonly role: EventRole;
    /** This person's participant id (null: not a participant). */
    readonly id: string | null;
    readonly name: string | null;
    readonly submitted: boolean;
    /** How many photos this person added. */
    readonly photos: number;
    readonly voted: boolean;
  };
  /** Only in the answer to joining: the personal link that restores this participant. */
  readonly recoveryUrl?: string;
}

/** What issuing a new invite link answers (POST /api/events/:id/invite). */
export interface NewInvite {
  readonly inviteUrl: string | null;
  /** Sites that had not taken the new link yet (down): each refuses the old one once back. */
  readonly waitingSites: readonly string[];
  readonly event: MosaicEvent;
}

export interface EventSite {
  readonly name: string;
  readonly state: 'ready' | 'waiting';
  /** ISO time: since when it is waited for (or when it answered); null when not known. */
  readonly since: string | null;
}

export interface EventCreate {
  title: string;
  votingSeconds?: number;
  maxParticipants?: number;
}

/**
 * Request and response schemas. The same zod schemas validate requests at the boundary and
 * generate the OpenAPI document served at /api/docs.
 */
import { z } from 'zod';
import {
  MAX_PASSWORD_LENGTH,
  MIN_PASSWORD_LENGTH,
  PASSWORD_TOO_LONG,
  PASSWORD_TOO_SHORT,
} from '../accounts/password-rule.js';
import { SHA256_HEX } from '../core/ids.js';

/** No control characters (tabs and newlines are allowed only where said). */
const NO_CONTROL = /^[^\p{Cc}]*$/u;
const NO_CONTROL_BUT_WHITESPACE = /^(?:[^\p{Cc}]|[\t\n\r])*$/u;

export const Title = z
  .string()
  .trim()
  .min(1, 'A title is required.')
  .max(200, 'A title has at most 200 characters.')
  .regex(NO_CONTROL, 'A title may not contain control characters.');
export const Category = z
  .string()
  .trim()
  .max(64, 'A category has at most 64 characters.')
  .regex(NO_CONTROL, 'A category may not contain control characters.');
export const Desc = z
  .string()
  .max(5000, 'A description has at most 5000 characters.')
  .regex(NO_CONTROL_BUT_WHITESPACE, 'A description may not contain control characters.');

export const PictureId = z
  .string()
  .regex(SHA256_HEX, 'A picture id is 64 lower-case hex characters (its SHA-256).');

export const PictureIdParams = z.strictObject({ id: PictureId });

/** The text fields of an upload (multipart form fields). */
export const PictureCreateFields = z.strictObject({
  title: Title,
  category: Category.default(''),
  desc: Desc.default(''),
});

export const PicturePatch = z
  .strictObject({ title: Title.optional(), category: Category.optional(), desc: Desc.optional() })
  .describe('Fields to change; the others stay as they are.');

export const Picture = z.object({
  id: z.string().describe('SHA-256 of the bytes, hex'),
  title: z.string(),
  category: z.string(),
  desc: z.string(),
  contentType: z.string(),
  size: z.number().int(),
  width: z.number().int(),
  height: z.number().int(),
  owner: z.string(),
  origin: z.string().describe('Name of the node where it was first uploaded'),
  createdAt: z.string(),
  updatedAt: z.string(),
  // Photo facts, read from the picture's EXIF/XMP by each node (null: not in the file).
  takenAt: z
    .string()
    .nullable()
    .optional()
    .describe("When it was taken, in the camera's local time, with its offset when known"),
  camera: z
    .object({
      make: z.string().nullable(),
      model: z.string().nullable(),
      lens: z.string().nullable(),
    })
    .nullable()
    .optional(),
  exposure: z
    .object({
      exposureTime: z.number().nullable().describe('Seconds'),
      fNumber: z.number().nullable(),
      focalLength: z.number().nullable().describe('Millimetres'),
      iso: z.number().nullable(),
    })
    .nullable()
    .optional(),
  gps: z
    .object({ latitude: z.number(), longitude: z.number(), altitude: z.number().nullable() })
    .nullable()
    .optional(),
  orientation: z.number().int().nullable().optional().describe('EXIF orientation, 1-8'),
});

/**
 * The gallery's filter, the same for a page (`GET /api/pictures`) and its month index (`GET
 * /api/timeline`): both go to the repositories' one filter (pictures/picture-filter.ts).
 */
const PictureFilterFields = {
  category: Category.optional(),
  q: z
    .string()
    .max(200, 'A search has at most 200 characters.')
    .optional()
    .describe(
      'Search: every word (letters and digits) must start a word of the title or description; ' +
        'a search with no such word matches nothing',
    ),
};

export const PictureListQuery = z.strictObject({
  ...PictureFilterFields,
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
  sort: z
    .enum(['added', 'taken'])
    .default('added')
    .describe('added: upload time; taken: date taken (upload time when unknown)'),
});

/** At most this many pictures in one zip (a selection, not a backup: use sync for that). */
export const MAX_ZIP_PICTURES = 2000;

export const ZipBody = z.strictObject({
  ids: z.array(PictureId).min(1).max(MAX_ZIP_PICTURES),
});

/** At most this many pictures looked up at once (the web app's live refresh asks for 200). */
export const MAX_LOOKUP = 200;

export const PictureLookupBody = z.strictObject({
  ids: z.array(PictureId).min(1).max(MAX_LOOKUP),
});

/** `?ids=a,b,c`: comma-separated, at most 200 (a URL stays under 16 KB). */
export const ZipQuery = z.strictObject({
  ids: z
    .string()
    .max(200 * 65)
    .transform((s) => s.split(','))
    .pipe(z.array(PictureId).min(1).max(200)),
});

export const TimelineQuery = z.strictObject(PictureFilterFields);

/** No parameters: the whole library's categories (an unknown one is a 400, as elsewhere). */
export const CategoriesQuery = z.strictObject({});

export const Categories = z.object({
  categories: z.array(
    z.object({ name: z.string(), count: z.number().int().describe('Pictures in it') }),
  ),
});

export const Timeline = z.object({
  months: z.array(z.object({ month: z.string().describe('YYYY-MM'), count: z.number().int() })),
});

export const PictureList = z.object({
  items: z.array(Picture),
  nextCursor: z.string().nullable(),
});

export const ThumbQuery = z.strictObject({ size: z.enum(['small', 'large']).default('small') });

export const Username = z
  .string()
  .min(1, 'A username is required.')
  .max(64, 'A username has at most 64 characters.')
  .regex(/^[A-Za-z0-9_.-]*$/, 'A username uses only a–z, A–Z, 0–9, ".", "_" and "-".');

/** A password being set: a new account's, a change, a reset. */
export const NewPassword = z
  .string()
  .min(MIN_PASSWORD_LENGTH, PASSWORD_TOO_SHORT)
  .max(MAX_PASSWORD_LENGTH, PASSWORD_TOO_LONG);

export const LoginBody = z.strictObject({
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(1024),
});

export const UserView = z.object({ username: z.string(), role: z.enum(['admin', 'user']) });

export const TokenCreateBody = z.strictObject({
  name: z.string().trim().min(1).max(100).regex(NO_CONTROL),
});

export const TokenCreated = z.object({ token: z.string(), id: z.string(), name: z.string() });

export const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
});

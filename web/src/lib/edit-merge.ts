/**
 * A picture's text fields edited at two nodes: each field is its own last-writer-wins register
 * (the server's rule), so an edit form saves only the fields the person changed, and the page
 * says in words what another node changed meanwhile, or which of the fields just saved another
 * node's edit replaced.
 */

export interface TextFields {
  readonly title: string;
  readonly category: string;
  readonly desc: string;
}

export type FieldName = keyof TextFields;

export const FIELDS: readonly FieldName[] = ['title', 'category', 'desc'];

const NAMES: Record<FieldName, string> = {
  title: 'title',
  category: 'category',
  desc: 'description',
};

/** The fields whose value differs between `a` and `b`. */
export function changedFields(a: TextFields, b: TextFields): FieldName[] {
  return FIELDS.filter((f) => a[f] !== b[f]);
}

/** The fields saved in `sent` that hold something else now (another node's edit won). */
export function overridden(sent: Partial<TextFields>, now: TextFields): FieldName[] {
  return FIELDS.filter((f) => sent[f] !== undefined && sent[f] !== now[f]);
}

/**
 * "the title is now “B”, the category “none” and the description changed": what `fields` hold
 * in `now`, a description named only (it may be long).
 */
export function describeFields(fields: readonly FieldName[], now: TextFields): string {
  const parts = fields.map((f, i) => {
    const lead = i === 0 ? `the ${NAMES[f]} is now` : `the ${NAMES[f]}`;
    if (f === 'desc') return 'the description changed'; // last in FIELDS' order
    return `${lead} ${now[f] === '' ? 'empty' : `“${now[f]}”`}`;
  });
  if (parts.length <= 1) return parts[0] ?? '';
  return `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1] ?? ''}`;
}

/** What the signed-in person may do, as the server decides it (so the UI hides the rest). */

/** The server lets the owner of a picture, or an admin, edit or delete it. */
export function canChange(
  user: { readonly username: string; readonly role: string } | null,
  picture: { readonly owner: string },
): boolean {
  return user !== null && (user.role === 'admin' || user.username === picture.owner);
}

/**
 * The personal recovery link of a participant, kept by this browser (the node shows it only
 * once, when joining). Opening it on another device or browser restores the participant.
 */
const key = (eventId: string) => `mosaic.recovery.${eventId}`;

export function keepRecoveryUrl(storage: Storage, eventId: string, url: string): void {
  try {
    storage.setItem(key(eventId), url);
  } catch {
    // Private mode or a full storage: the link is still on screen to copy.
  }
}

export function recoveryUrlOf(storage: Storage, eventId: string): string | null {
  try {
    return storage.getItem(key(eventId));
  } catch {
    return null;
  }
}

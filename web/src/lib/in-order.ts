/**
 * Answers applied in the order their requests were made. The gallery asks the server again
 * whenever it hears of a change (and reloads its first page when its live feed connects);
 * answers can come back in any order, and an older answer applied after a newer one would
 * undo it — a picture's "not here yet" (asked when its record arrived) landing after "here"
 * (asked when its bytes did) would remove its tile for good. Requests still run in parallel;
 * only their effects wait for the ones before them.
 */
export type InOrder = <T>(answer: Promise<T>, apply: (value: T) => void) => Promise<void>;

export function inOrder(): InOrder {
  let tail: Promise<void> = Promise.resolve();
  return <T>(answer: Promise<T>, apply: (value: T) => void): Promise<void> => {
    const previous = tail;
    const applied = answer.then(async (value) => {
      await previous;
      apply(value);
    });
    // The next answer waits for this one to be applied, or to have failed (after the ones
    // before it, so that a quick failure does not let the next answer overtake them).
    tail = previous
      .then(
        () => applied,
        () => applied,
      )
      .then(
        () => undefined,
        () => undefined,
      );
    return applied;
  };
}

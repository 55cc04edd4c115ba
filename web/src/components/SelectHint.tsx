/**
 * A one-time hint above the gallery on a touch screen, where the select circles stay hidden
 * until a long press (nothing else says so): "press and hold a picture to select it". Shown
 * until the person taps "Got it" (remembered by this browser); the stylesheet hides it on an
 * empty gallery (not while selecting: the long press that selects would see the tiles move). Not on a screen with a mouse: the circles show on hover.
 */
import { useState } from 'react';

const KEY = 'mosaic.selectHintSeen';
const TOUCH = '(hover: none) and (pointer: coarse)';

function shouldShow(): boolean {
  try {
    return window.matchMedia(TOUCH).matches && window.localStorage.getItem(KEY) === null;
  } catch {
    return false;
  }
}

export function SelectHint() {
  const [show, setShow] = useState(shouldShow);
  if (!show) return null;
  return (
    <p className="note select-hint" data-testid="select-hint">
      <span>Press and hold a picture to select it, then tap others to add them.</span>
      <button
        type="button"
        className="btn btn-small"
        onClick={() => {
          try {
            window.localStorage.setItem(KEY, '1');
          } catch {
            // Private mode without storage: hidden for this visit only.
          }
          setShow(false);
        }}
      >
        Got it
      </button>
    </p>
  );
}

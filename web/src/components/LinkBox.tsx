/** A read-only text with a copy button (an event's invite link, a recovery link, a share link, a new API token). */
import { useState } from 'react';
import { CheckIcon, CopyIcon } from './icons';

/**
 * Copies `text`. Where the browser gives no clipboard (a page served over plain http from a
 * host name, as a home server often is), selects it in `input` and asks the browser to copy the
 * selection. Resolves to what happened: copied, or only selected (the person copies it).
 */
export async function copyText(
  text: string,
  input: HTMLInputElement | null,
): Promise<'copied' | 'selected'> {
  try {
    // Undefined outside a secure context, whatever the types say.
    if ((navigator.clipboard as Clipboard | undefined) !== undefined) {
      await navigator.clipboard.writeText(text);
      return 'copied';
    }
  } catch {
    // Refused (no permission): select it instead.
  }
  if (input === null) return 'selected';
  input.focus();
  input.select();
  // The one way left to copy from a page without a secure context.
  // eslint-disable-next-line @typescript-eslint/no-deprecated
  return document.execCommand('copy') ? 'copied' : 'selected';
}

export function LinkBox({
  id,
  label,
  url,
  note,
  secret = false,
}: {
  id: string;
  label: string;
  url: string;
  note?: string;
  /** A personal link (not to be shared): shown apart from the invite. */
  secret?: boolean;
}) {
  const [outcome, setOutcome] = useState<'copied' | 'selected' | null>(null);
  const copy = async () => {
    const input = document.getElementById(id);
    setOutcome(await copyText(url, input instanceof HTMLInputElement ? input : null));
  };
  return (
    <div className={secret ? 'invite invite-secret' : 'invite'}>
      <label htmlFor={id} className="small">
        {label}
      </label>
      <div className="invite-row">
        <input
          id={id}
          readOnly
          value={url}
          onFocus={(e) => {
            e.target.select();
          }}
        />
        <button type="button" className="btn" onClick={() => void copy()}>
          {outcome === 'copied' ? <CheckIcon /> : <CopyIcon />}{' '}
          {outcome === 'copied' ? 'Copied' : 'Copy'}
        </button>
      </div>
      {outcome === 'selected' && (
        <p className="small" role="status">
          Selected: copy it with Ctrl+C (⌘C), or by a long press on a phone.
        </p>
      )}
      {note && <p className="muted small">{note}</p>}
    </div>
  );
}

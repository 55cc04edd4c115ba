/** A read-only text with a copy button (an event's invite link, a recovery link, a new API token). */
import { useState } from 'react';
import { CheckIcon, CopyIcon } from './icons';

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
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(url);
      setCopied(true);
    } catch {
      // No clipboard (plain http on another host): select the text for a manual copy.
      const input = document.getElementById(id);
      if (input instanceof HTMLInputElement) input.select();
    }
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
          {copied ? <CheckIcon /> : <CopyIcon />} {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
      {note && <p className="muted small">{note}</p>}
    </div>
  );
}

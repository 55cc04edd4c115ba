/**
 * One file of the upload page: its preview, name and size, its title, category and
 * description (locked once it is being sent or done), its progress and what the server said.
 * One being sent can be cancelled; one not being sent (not yet, or no longer) removed.
 */
import { useState } from 'react';
import { useNow } from '../hooks';
import { formatSize, isStalled, type UploadItem } from '../lib/upload-queue';
import { paths } from '../lib/routes';
import { Link } from '../router';
import { ProgressBar } from './common';
import { UploadIcon } from './icons';

export function UploadRow({
  item,
  preview,
  locked,
  onChange,
  onCancel,
  onRemove,
}: {
  item: UploadItem;
  preview: string | null;
  locked: boolean;
  onChange: (patch: Partial<Pick<UploadItem, 'title' | 'category' | 'desc'>>) => void;
  onCancel: () => void;
  onRemove: () => void;
}) {
  // Ticks only while this row is being sent, to notice an upload that stopped moving.
  const now = useNow(1000, item.status === 'uploading');
  const stalled = isStalled(item, now);
  const statusText = {
    ready: 'Ready',
    uploading: stalled
      ? `Waiting for the server… (${Math.round(item.progress * 100)}%)`
      : `Uploading ${Math.round(item.progress * 100)}%`,
    offline: 'Waiting for the connection…',
    created: 'Uploaded',
    // The library keeps it as it was: what was typed here for it is not used.
    duplicate: item.existingTitle
      ? `Already in the library as “${item.existingTitle}”`
      : 'Already in the library',
    failed: 'Failed',
    refused: 'Refused',
    cancelled: 'Cancelled',
  }[item.status];
  const cancellable = item.status === 'uploading' || item.status === 'offline';
  return (
    <li className={`upload-row upload-${item.status}`} data-testid="upload-row">
      <Preview url={preview} />
      <div className="upload-fields">
        <div className="upload-file muted small">
          {item.file.name} · {formatSize(item.file.size)}
        </div>
        <RowField
          caption="Title"
          name={`Title of ${item.file.name}`}
          value={item.title}
          maxLength={200}
          placeholder="Required"
          disabled={locked}
          onChange={(title) => {
            onChange({ title });
          }}
        />
        <div className="upload-pair">
          <RowField
            caption="Category"
            name={`Category of ${item.file.name}`}
            value={item.category}
            maxLength={64}
            placeholder="e.g. holidays"
            disabled={locked}
            onChange={(category) => {
              onChange({ category });
            }}
          />
          <RowField
            caption="Description"
            name={`Description of ${item.file.name}`}
            value={item.desc}
            placeholder="Optional"
            disabled={locked}
            onChange={(desc) => {
              onChange({ desc });
            }}
          />
        </div>
        <ProgressBar value={item.progress} label={`Upload of ${item.file.name}`} />
        <div className="upload-status" aria-live="polite">
          <span className={`status status-${item.status}`}>{statusText}</span>
          {item.error && <span className="upload-error">{item.error}</span>}
          {stalled && (
            <span className="muted small">
              The server has not answered for a while; the upload goes on when it does.
            </span>
          )}
          {item.pictureId && (
            <Link to={paths.picture(item.pictureId)} className="small">
              Open
            </Link>
          )}
          {cancellable && (
            <button type="button" className="btn btn-ghost btn-small" onClick={onCancel}>
              Cancel<span className="visually-hidden"> {item.file.name}</span>
            </button>
          )}
        </div>
      </div>
      {(!locked || item.status === 'cancelled') && (
        <button
          type="button"
          className="btn btn-ghost btn-icon upload-remove"
          aria-label={`Remove ${item.file.name}`}
          onClick={onRemove}
        >
          ×
        </button>
      )}
    </li>
  );
}

/**
 * The file as the browser can show it, else the upload icon: a file that only claims to be an
 * image (a text file named .jpg) shows the icon, not a broken image and its alt text.
 */
function Preview({ url }: { url: string | null }) {
  const [broken, setBroken] = useState(false);
  return (
    <div className="upload-thumb">
      {url && !broken ? (
        <img
          src={url}
          alt=""
          onError={() => {
            setBroken(true);
          }}
        />
      ) : (
        <UploadIcon />
      )}
    </div>
  );
}

/**
 * One of a row's fields: a visible caption over the input, which is named for screen readers by
 * `name` (the caption is hidden from them; a <label> would give the input a second name).
 */
function RowField({
  caption,
  name,
  value,
  maxLength,
  placeholder,
  disabled,
  onChange,
}: {
  caption: string;
  name: string;
  value: string;
  maxLength?: number;
  placeholder: string;
  disabled: boolean;
  onChange: (value: string) => void;
}) {
  return (
    <div className="field field-inline">
      <span aria-hidden="true">{caption}</span>
      <input
        value={value}
        disabled={disabled}
        maxLength={maxLength}
        placeholder={placeholder}
        aria-label={name}
        onChange={(e) => {
          onChange(e.target.value);
        }}
      />
    </div>
  );
}

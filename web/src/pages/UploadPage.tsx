/**
 * Upload: drop or pick several pictures (on a phone, the camera roll, or take one with the
 * camera), give each a title (from its file name), a category and a description, or set those
 * for all at once, and watch a progress bar per file. Files go through resumable uploads (tus):
 * a dropped connection resumes where it stopped. The server judges each file: 415 not an
 * image, 413 too large, 200 a picture that already exists. The queue itself lives above the
 * pages (uploads.tsx): it goes on while another page is shown.
 */
import { useState, type DragEvent } from 'react';
import { UploadIcon } from '../components/icons';
import { UploadRow } from '../components/UploadRow';
import { isDone, isWaiting, summarize, summaryText, uploadButtonLabel } from '../lib/upload-queue';
import { useUploads } from '../uploads';

export function UploadPage() {
  const uploads = useUploads();
  const { items, running, addFiles } = uploads;
  const [dragging, setDragging] = useState(false);

  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    addFiles(event.dataTransfer.files);
  };

  const summary = summarize(items);
  const waiting = items.filter(isWaiting).length;

  return (
    <div className="upload">
      <h1>Upload</h1>
      <div
        className={dragging ? 'dropzone dropzone-over' : 'dropzone'}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => {
          setDragging(false);
        }}
        onDrop={onDrop}
      >
        <UploadIcon />
        <p>
          <strong>Drop pictures here</strong>
          <span className="muted"> or </span>
        </p>
        <label className="btn btn-primary">
          Choose pictures
          <input
            className="visually-hidden"
            type="file"
            accept="image/*"
            multiple
            data-testid="file-input"
            onChange={(e) => {
              addFiles(e.target.files);
              e.target.value = '';
            }}
          />
        </label>
        <label className="btn btn-ghost camera-capture">
          Take a photo
          <input
            className="visually-hidden"
            type="file"
            accept="image/*"
            capture="environment"
            data-testid="camera-input"
            onChange={(e) => {
              addFiles(e.target.files);
              e.target.value = '';
            }}
          />
        </label>
        <p className="muted small">
          JPEG, PNG, WebP, GIF, AVIF or HEIC. Several at once is fine; an upload cut off by the
          network resumes where it stopped.
        </p>
      </div>

      {items.length > 0 && (
        <>
          <section className="card upload-all" aria-label="For all pictures">
            <h2>For all pictures</h2>
            <div className="upload-all-fields">
              <label className="field">
                <span>Category</span>
                <input
                  value={uploads.allCategory}
                  maxLength={64}
                  placeholder="e.g. holidays"
                  onChange={(e) => {
                    uploads.setAll({ category: e.target.value });
                  }}
                />
              </label>
              <label className="field">
                <span>Description</span>
                <input
                  value={uploads.allDesc}
                  placeholder="Said of every picture below"
                  onChange={(e) => {
                    uploads.setAll({ desc: e.target.value });
                  }}
                />
              </label>
            </div>
            <div className="upload-actions">
              <button
                type="button"
                className="btn btn-primary"
                onClick={uploads.uploadAll}
                disabled={running || waiting === 0}
              >
                {uploadButtonLabel(items, running)}
              </button>
              {summary.created + summary.duplicate > 0 && !running && (
                <button type="button" className="btn btn-ghost" onClick={uploads.clearDone}>
                  Clear finished
                </button>
              )}
              <p className="muted small" aria-live="polite">
                {summaryText(summary)}
              </p>
            </div>
          </section>

          <ul className="upload-list" aria-label="Pictures to upload">
            {items.map((item) => (
              <UploadRow
                key={item.key}
                item={item}
                preview={uploads.preview(item.key)}
                locked={
                  item.status === 'uploading' ||
                  item.status === 'offline' ||
                  item.status === 'cancelled' ||
                  isDone(item)
                }
                onChange={(patch) => {
                  uploads.edit(item.key, patch);
                }}
                onCancel={() => {
                  uploads.cancel(item.key);
                }}
                onRemove={() => {
                  uploads.remove(item.key);
                }}
              />
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

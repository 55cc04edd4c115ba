/**
 * Upload: drop or pick several pictures (on a phone, the camera roll, or take one with the
 * camera), give each a title (from its file name), a category and a description, or set those
 * for all at once, and watch a progress bar per file. Files go through resumable uploads (tus):
 * a dropped connection resumes where it stopped. The server judges each file: 415 not an
 * image, 413 too large, 200 a picture that already exists.
 */
import { useCallback, useEffect, useRef, useState, type DragEvent } from 'react';
import { api, ApiError } from '../api/client';
import { sendTus } from '../api/tus-upload';
import { useAuth } from '../auth';
import { UploadIcon } from '../components/icons';
import { UploadRow } from '../components/UploadRow';
import {
  applyToWaiting,
  isDone,
  newItems,
  nextToStart,
  outcome,
  summarize,
  updateItem,
  validate,
  type UploadItem,
} from '../lib/upload-queue';

const CONCURRENCY = 2;

let keySeq = 0;
const makeKey = () => `u${++keySeq}`;

export function UploadPage() {
  const { handleError } = useAuth();
  const [items, setItems] = useState<UploadItem[]>([]);
  const [running, setRunning] = useState(false);
  const [dragging, setDragging] = useState(false);
  const [allCategory, setAllCategory] = useState('');
  const [allDesc, setAllDesc] = useState('');
  /** The File objects, by item key (the queue itself holds plain data). */
  const files = useRef(new Map<string, File>());
  const previews = useRef(new Map<string, string>());
  const input = useRef<HTMLInputElement>(null);

  useEffect(() => {
    const urls = previews.current;
    return () => {
      for (const url of urls.values()) URL.revokeObjectURL(url);
    };
  }, []);

  const addFiles = (list: FileList | null) => {
    if (!list || list.length === 0) return;
    const picked = [...list];
    const added = newItems(picked, { category: allCategory, desc: allDesc }, makeKey);
    added.forEach((item, i) => {
      const file = picked[i];
      if (!file) return;
      files.current.set(item.key, file);
      if (file.type.startsWith('image/')) previews.current.set(item.key, URL.createObjectURL(file));
    });
    setItems((current) => [...current, ...added]);
  };

  const start = useCallback(
    (item: UploadItem) => {
      const file = files.current.get(item.key);
      if (!file) return;
      const fields = {
        title: item.title.trim(),
        category: item.category.trim(),
        desc: item.desc,
      };
      setItems((s) => updateItem(s, item.key, { status: 'uploading', progress: 0, error: null }));
      const { promise } = sendTus(file, fields, (progress) => {
        setItems((s) => updateItem(s, item.key, { progress }));
      });
      promise.then(
        ({ status, body }) => {
          if (status === 401) handleError(new ApiError(401, 'unauthorized', 'Please sign in.'));
          const result = outcome(status, body);
          const patch: Partial<UploadItem> =
            result.status === 'created'
              ? { status: 'created', pictureId: result.pictureId, progress: 1 }
              : result.status === 'duplicate'
                ? {
                    status: 'duplicate',
                    pictureId: result.pictureId,
                    progress: 1,
                    existingTitle: result.existingTitle,
                  }
                : { status: result.status, error: result.error };
          setItems((s) => updateItem(s, item.key, patch));
          // A duplicate: say under which title the library has it (the server's answer to an
          // upload names the picture only).
          if (result.status === 'duplicate' && result.pictureId !== null) {
            api.picture(result.pictureId).then(
              (existing) => {
                setItems((s) => updateItem(s, item.key, { existingTitle: existing.title }));
              },
              () => undefined, // not readable (deleted meanwhile): the plain "already there"
            );
          }
        },
        (error: unknown) => {
          setItems((s) =>
            updateItem(s, item.key, {
              status: 'failed',
              error: error instanceof Error ? error.message : 'Upload failed.',
            }),
          );
        },
      );
    },
    [handleError],
  );

  // The queue pump: while running, keep CONCURRENCY uploads in flight.
  useEffect(() => {
    if (!running) return;
    const keys = nextToStart(items, CONCURRENCY);
    if (keys.length === 0) {
      if (!items.some((i) => i.status === 'uploading')) setRunning(false);
      return;
    }
    for (const key of keys) {
      const item = items.find((i) => i.key === key);
      if (item) start(item);
    }
  }, [running, items, start]);

  const uploadAll = () => {
    // Items with an invalid title stay back and say why; the others go.
    setItems((s) =>
      s.map((item) => {
        if (item.status !== 'ready' && item.status !== 'failed') return item;
        const problem = validate(item);
        return problem
          ? { ...item, status: 'failed', error: problem }
          : { ...item, status: 'ready', error: null };
      }),
    );
    setRunning(true);
  };

  const remove = (key: string) => {
    const url = previews.current.get(key);
    if (url) URL.revokeObjectURL(url);
    previews.current.delete(key);
    files.current.delete(key);
    setItems((s) => s.filter((i) => i.key !== key));
  };

  const clearDone = () => {
    for (const item of items) if (isDone(item)) remove(item.key);
  };

  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    addFiles(event.dataTransfer.files);
  };

  const summary = summarize(items);
  const waiting = items.filter((i) => i.status === 'ready' || i.status === 'failed').length;
  const onlyFailed = waiting > 0 && !items.some((i) => i.status === 'ready');

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
            ref={input}
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
                  value={allCategory}
                  maxLength={64}
                  placeholder="e.g. holidays"
                  onChange={(e) => {
                    setAllCategory(e.target.value);
                    setItems((s) => applyToWaiting(s, { category: e.target.value }));
                  }}
                />
              </label>
              <label className="field">
                <span>Description</span>
                <input
                  value={allDesc}
                  placeholder="Said of every picture below"
                  onChange={(e) => {
                    setAllDesc(e.target.value);
                    setItems((s) => applyToWaiting(s, { desc: e.target.value }));
                  }}
                />
              </label>
            </div>
            <div className="upload-actions">
              <button
                type="button"
                className="btn btn-primary"
                onClick={uploadAll}
                disabled={running || waiting === 0}
              >
                {running
                  ? 'Uploading…'
                  : waiting === 0
                    ? 'All sent'
                    : onlyFailed
                      ? `Retry ${waiting} failed`
                      : `Upload ${waiting} ${waiting === 1 ? 'picture' : 'pictures'}`}
              </button>
              {summary.created + summary.duplicate > 0 && !running && (
                <button type="button" className="btn btn-ghost" onClick={clearDone}>
                  Clear finished
                </button>
              )}
              <p className="muted small" aria-live="polite">
                {summary.created} uploaded
                {summary.duplicate > 0 && `, ${summary.duplicate} already there`}
                {summary.failed > 0 && `, ${summary.failed} failed`} · {summary.total} in all
              </p>
            </div>
          </section>

          <ul className="upload-list" aria-label="Pictures to upload">
            {items.map((item) => (
              <UploadRow
                key={item.key}
                item={item}
                preview={previews.current.get(item.key) ?? null}
                locked={item.status === 'uploading' || isDone(item)}
                onChange={(patch) => {
                  setItems((s) => updateItem(s, item.key, patch));
                }}
                onRemove={() => {
                  remove(item.key);
                }}
              />
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

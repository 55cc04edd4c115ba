/**
 * The upload queue, above the pages: the files picked on the Upload page, their rows and the
 * uploads in flight live here, so going to the Gallery and back shows the same rows, still
 * moving, and the files still waiting are sent all the same. Leaving the app (reload, closing
 * the tab) would cut them off: the browser asks first while any is waiting or being sent.
 * An upload cut off because the browser went offline waits for the connection and resumes
 * (tus asks the node how much arrived) when the `online` event comes. The queue is its
 * person's: signing out, or someone else signing in, drops it (uploads in flight aborted), so
 * that nothing picked by one is sent under the next one's session. A session that ended by
 * itself (a 401) keeps it for the same person's next sign-in.
 */
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
  type ReactNode,
} from 'react';
import { api, ApiError } from './api/client';
import { sendTus } from './api/tus-upload';
import type { UploadHandle } from './api/upload';
import { useAuth } from './auth';
import {
  applyToWaiting,
  isDone,
  isPending,
  newItems,
  nextToStart,
  notQueued,
  outcome,
  resumeOffline,
  updateItem,
  validate,
  type UploadItem,
} from './lib/upload-queue';

const CONCURRENCY = 2;

let keySeq = 0;
const makeKey = () => `u${++keySeq}`;

type Editable = Partial<Pick<UploadItem, 'title' | 'category' | 'desc'>>;

export interface Uploads {
  readonly items: readonly UploadItem[];
  readonly running: boolean;
  /** The "for all pictures" fields. */
  readonly allCategory: string;
  readonly allDesc: string;
  readonly preview: (key: string) => string | null;
  readonly addFiles: (list: FileList | null) => void;
  readonly edit: (key: string, patch: Editable) => void;
  readonly setAll: (patch: { category?: string; desc?: string }) => void;
  readonly uploadAll: () => void;
  readonly cancel: (key: string) => void;
  readonly remove: (key: string) => void;
  readonly clearDone: () => void;
}

const UploadsContext = createContext<Uploads | null>(null);

export function useUploads(): Uploads {
  const uploads = useContext(UploadsContext);
  if (!uploads) throw new Error('useUploads outside UploadsProvider');
  return uploads;
}

export function UploadsProvider({ children }: { children: ReactNode }) {
  const { auth, handleError } = useAuth();
  const [items, setItems] = useState<UploadItem[]>([]);
  const [running, setRunning] = useState(false);
  const [allCategory, setAllCategory] = useState('');
  const [allDesc, setAllDesc] = useState('');
  /** The File objects, by item key (the queue itself holds plain data). */
  const files = useRef(new Map<string, File>());
  const previews = useRef(new Map<string, string>());
  /** The uploads in flight: an answer from one no longer here (cancelled) is ignored. */
  const handles = useRef(new Map<string, UploadHandle>());
  const latest = useRef(items);
  latest.current = items;

  const start = useCallback(
    (item: UploadItem) => {
      const file = files.current.get(item.key);
      if (!file) return;
      const fields = {
        title: item.title.trim(),
        category: item.category.trim(),
        desc: item.desc,
      };
      const patch = (p: Partial<UploadItem>) => {
        if (handles.current.get(item.key) !== handle) return;
        setItems((s) => updateItem(s, item.key, p));
      };
      setItems((s) =>
        updateItem(s, item.key, {
          status: 'uploading',
          progress: 0,
          error: null,
          movedAt: Date.now(),
        }),
      );
      const handle = sendTus(file, fields, (progress) => {
        patch({ progress, movedAt: Date.now() });
      });
      handles.current.set(item.key, handle);
      handle.promise.then(
        ({ status, body }) => {
          if (status === 401) handleError(new ApiError(401, 'unauthorized', 'Please sign in.'));
          const result = outcome(status, body);
          patch(
            result.status === 'created'
              ? { status: 'created', pictureId: result.pictureId, progress: 1 }
              : result.status === 'duplicate'
                ? {
                    status: 'duplicate',
                    pictureId: result.pictureId,
                    progress: 1,
                    existingTitle: result.existingTitle,
                  }
                : { status: result.status, error: result.error },
          );
          handles.current.delete(item.key);
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
          // No answer at all. With the browser offline tus-js-client does not retry: the row
          // waits for the `online` event instead of failing (a server that is out of reach
          // while the browser is online has had tus's retries, and is a failure to retry).
          patch(
            navigator.onLine
              ? {
                  status: 'failed',
                  error: error instanceof Error ? error.message : 'Upload failed.',
                }
              : { status: 'offline', error: null },
          );
          handles.current.delete(item.key);
        },
      );
    },
    [handleError],
  );

  // Whose queue it is: dropped on signing out and when another person signs in.
  const owner = useRef<string | null>(null);
  const signedInAs = auth.status === 'signed-in' ? auth.user.username : null;
  const signedOut = auth.status === 'signed-out' && auth.ended !== true;
  useEffect(() => {
    const someoneElse =
      signedInAs !== null && owner.current !== null && signedInAs !== owner.current;
    if (signedInAs !== null) owner.current = signedInAs;
    if (!someoneElse && !signedOut) return;
    for (const handle of handles.current.values()) handle.abort();
    handles.current.clear();
    for (const url of previews.current.values()) URL.revokeObjectURL(url);
    previews.current.clear();
    files.current.clear();
    setItems([]);
    setRunning(false);
    setAllCategory('');
    setAllDesc('');
  }, [signedInAs, signedOut]);

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

  // The connection is back: the uploads it cut off go on. Only then, so that files picked but
  // not sent yet are not sent by a connection coming back.
  useEffect(() => {
    const online = () => {
      if (!latest.current.some((i) => i.status === 'offline')) return;
      setItems(resumeOffline);
      setRunning(true);
    };
    window.addEventListener('online', online);
    return () => {
      window.removeEventListener('online', online);
    };
  }, []);

  // Leaving the app would lose what is not sent yet: the browser's own "Leave site?" first.
  const pending = items.some(isPending);
  useEffect(() => {
    if (!pending) return;
    const guard = (event: BeforeUnloadEvent) => {
      event.preventDefault(); // the browser's own prompt (its words cannot be chosen)
    };
    window.addEventListener('beforeunload', guard);
    return () => {
      window.removeEventListener('beforeunload', guard);
    };
  }, [pending]);

  const uploads = useMemo<Uploads>(() => {
    const remove = (key: string) => {
      const url = previews.current.get(key);
      if (url) URL.revokeObjectURL(url);
      previews.current.delete(key);
      files.current.delete(key);
      setItems((s) => s.filter((i) => i.key !== key));
    };
    return {
      items,
      running,
      allCategory,
      allDesc,
      preview: (key) => previews.current.get(key) ?? null,
      addFiles: (list) => {
        if (!list || list.length === 0) return;
        const picked = notQueued([...list], items);
        const added = newItems(picked, { category: allCategory, desc: allDesc }, makeKey);
        added.forEach((item, i) => {
          const file = picked[i];
          if (!file) return;
          files.current.set(item.key, file);
          if (file.type.startsWith('image/')) {
            previews.current.set(item.key, URL.createObjectURL(file));
          }
        });
        setItems((current) => [...current, ...added]);
      },
      edit: (key, patch) => {
        setItems((s) => updateItem(s, key, patch));
      },
      setAll: (patch) => {
        if (patch.category !== undefined) setAllCategory(patch.category);
        if (patch.desc !== undefined) setAllDesc(patch.desc);
        setItems((s) => applyToWaiting(s, patch));
      },
      uploadAll: () => {
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
      },
      cancel: (key) => {
        // abort(true) also asks the node to drop what arrived; a partial upload is never a
        // picture, and one that was cut off (offline) is swept by the node within a day.
        const handle = handles.current.get(key);
        handles.current.delete(key);
        handle?.abort();
        setItems((s) => updateItem(s, key, { status: 'cancelled', error: null }));
      },
      remove,
      clearDone: () => {
        for (const item of items) if (isDone(item)) remove(item.key);
      },
    };
  }, [items, running, allCategory, allDesc]);

  return <UploadsContext.Provider value={uploads}>{children}</UploadsContext.Provider>;
}

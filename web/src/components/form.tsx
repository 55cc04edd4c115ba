/**
 * What every form of the app does alike: labelled fields bound to a string, one submit that
 * is busy while it runs, and its outcome shown under the fields (the server's message from its
 * `{error: {code, message}}`, or a line saying it is done).
 */
import {
  useCallback,
  useState,
  type InputHTMLAttributes,
  type SyntheticEvent,
  type TextareaHTMLAttributes,
} from 'react';
import { messageOf } from './common';

/** What a submit ended with: `ok` a line saying it is done, else what went wrong. */
export interface Outcome {
  readonly ok: boolean;
  readonly text: string;
}

export interface SubmitOptions {
  /** Told of every failure first (the app's sign-out on a 401). */
  readonly onError?: (error: unknown) => void;
  /** The sentence for a failure; the error's own message (the server's) by default. */
  readonly describe?: (error: unknown) => string;
}

/**
 * One form's submit: `run` does the work; a string it returns is the line shown when done.
 * `busy` holds from the submit until `run` settles; the previous outcome is cleared meanwhile.
 * Spread `formProps` on the `<form>`: the previous outcome is cleared too as soon as a field
 * changes, and when a submit is tried that the browser blocks (a field invalid: no submit
 * event), so no stale message stays beside what the person typed since.
 */
export function useSubmit(run: () => Promise<unknown>, options: SubmitOptions = {}) {
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const submit = async (event: SyntheticEvent) => {
    event.preventDefault();
    setBusy(true);
    setOutcome(null);
    try {
      const done = await run();
      if (typeof done === 'string') setOutcome({ ok: true, text: done });
    } catch (e) {
      options.onError?.(e);
      setOutcome({ ok: false, text: (options.describe ?? messageOf)(e) });
    } finally {
      setBusy(false);
    }
  };
  /** Shows `text` as a failure without running anything (a check, a failed load). */
  const fail = useCallback((text: string) => {
    setOutcome({ ok: false, text });
  }, []);
  const clear = useCallback(() => {
    setOutcome(null);
  }, []);
  const onSubmit = (event: SyntheticEvent) => void submit(event);
  return {
    busy,
    outcome,
    /** The failure's sentence, or null. */
    error: outcome && !outcome.ok ? outcome.text : null,
    fail,
    clear,
    onSubmit,
    /** For the `<form>`: submits, and clears the outcome on a change or a blocked submit. */
    formProps: { onSubmit, onChange: clear, onInvalid: clear },
  };
}

/** The outcome under a form's fields: a status line when done, an alert when it failed. */
export function FormOutcome({ outcome }: { outcome: Outcome | null }) {
  if (!outcome) return null;
  return (
    <p className={outcome.ok ? 'note' : 'form-error'} role={outcome.ok ? 'status' : 'alert'}>
      {outcome.text}
    </p>
  );
}

type Bound<A> = Omit<A, 'value' | 'onChange'> & {
  readonly label: string;
  readonly value: string;
  readonly onValue: (value: string) => void;
};

/** A labelled input bound to a string. */
export function Field({
  label,
  value,
  onValue,
  ...input
}: Bound<InputHTMLAttributes<HTMLInputElement>>) {
  return (
    <label className="field">
      <span>{label}</span>
      <input
        {...input}
        value={value}
        onChange={(e) => {
          onValue(e.target.value);
        }}
      />
    </label>
  );
}

/** A labelled textarea bound to a string. */
export function TextAreaField({
  label,
  value,
  onValue,
  ...textarea
}: Bound<TextareaHTMLAttributes<HTMLTextAreaElement>>) {
  return (
    <label className="field">
      <span>{label}</span>
      <textarea
        {...textarea}
        value={value}
        onChange={(e) => {
          onValue(e.target.value);
        }}
      />
    </label>
  );
}

/** A dialog form's buttons: Cancel and the submit, both disabled while it is busy. */
export function DialogActions({
  busy,
  onCancel,
  children,
}: {
  busy: boolean;
  onCancel: () => void;
  children: string;
}) {
  return (
    <div className="dialog-actions">
      <button type="button" className="btn" onClick={onCancel} disabled={busy}>
        Cancel
      </button>
      <button type="submit" className="btn btn-primary" disabled={busy}>
        {children}
      </button>
    </div>
  );
}

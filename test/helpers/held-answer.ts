/**
 * The answer of a request a test keeps in flight (node:http, for what fetch cannot do: send a
 * body in parts, stop reading an answer half-way), and how it ended: whole, with its status
 * and text, or cut (the connection closed before the answer was whole).
 */
import type { ClientRequest, IncomingMessage } from 'node:http';

export type Answer = { readonly status: number; readonly body: string } | 'cut';

export interface HeldAnswer {
  /** Settles once the answer is whole, or with 'cut'. */
  readonly answer: Promise<Answer>;
  /** How it ended, if it did (as far as this side has read: see `pause`). */
  ended(): Answer | undefined;
  /** Bytes of the answer's body read so far. */
  received(): number;
  /** Reads the rest of an answer paused by `pause`. */
  resume(): void;
}

/** Text of an answer kept for the test (an error's JSON); a download's bytes are only counted. */
const KEPT_CHARS = 64 * 1024;

/**
 * Follows `req`'s answer. With `pause`, stops reading after its first bytes, as a slow reader
 * would: the node's send then waits on the connection, and this side sees a cut only once it
 * reads again (`resume`).
 */
export function follow(req: ClientRequest, { pause = false } = {}): HeldAnswer {
  let result: Answer | undefined;
  let received = 0;
  let response: IncomingMessage | null = null;
  const answer = new Promise<Answer>((resolve) => {
    const end = (outcome: Answer) => {
      if (result !== undefined) return;
      result = outcome;
      resolve(outcome);
    };
    req.on('error', () => undefined);
    req.on('close', () => {
      if (response === null) end('cut');
    });
    req.on('response', (res) => {
      response = res;
      let text = '';
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (text.length < KEPT_CHARS) text += chunk.toString('utf8');
        if (pause && received === chunk.length) res.pause();
      });
      res.on('error', () => undefined);
      res.on('end', () => {
        end({ status: res.statusCode ?? 0, body: text });
      });
      res.on('close', () => {
        if (!res.complete) end('cut');
      });
    });
  });
  return {
    answer,
    ended: () => result,
    received: () => received,
    resume: () => {
      response?.resume();
    },
  };
}

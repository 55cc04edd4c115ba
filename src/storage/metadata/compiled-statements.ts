import { CompiledQuery, type Compilable, type QueryResult } from 'kysely';
import type { Executor } from './dialect.js';

/**
 * SQL text compiled once per statement shape and run again with new parameters: a Kysely
 * builder allocates a tree of nodes and compiles it on every call (about 8 KB and 5 µs a
 * statement), which dominates a hot path that runs the same few statements per item (the op
 * log taking in a batch of received operations). Its first run compiles `build()`, built with
 * that run's values, and checks that its parameters are exactly `parameters` in order; later
 * runs of the same `key` reuse the text. One instance per store (the text is dialect's own).
 */
export class CompiledStatements {
  private readonly texts = new Map<string, string>();

  async run<R>(
    trx: Executor,
    key: string,
    build: () => Compilable<R>,
    parameters: unknown[],
  ): Promise<QueryResult<R>> {
    let text = this.texts.get(key);
    if (text === undefined) {
      const compiled = build().compile();
      const same =
        compiled.parameters.length === parameters.length &&
        compiled.parameters.every((p, i) => p === parameters[i]);
      if (!same) throw new Error(`statement ${key}: parameters not in the expected order`);
      text = compiled.sql;
      this.texts.set(key, text);
    }
    return trx.executeQuery(CompiledQuery.raw(text, parameters));
  }
}

import type { CompiledQuery, QueryResult } from "kysely";
import type { Queryable } from "./database.ts";

/**
 * A query built and compiled by Kysely once, then run with each call's values: for the
 * statements a sign-in makes most often, where building and compiling the query cost more of the
 * service's CPU than sending it. `build` is given slots, strings holding a NUL byte (which no
 * stored value can hold), and each must reach the query unchanged as a parameter; the query's
 * text must not depend on the values. The text has no per-database part, so one compilation
 * serves every store. The slots are typed `never` so that each fits whatever column it stands in.
 * A query that carries a value of its own (today's date) names it as `edition`: it is compiled
 * again when that changes.
 */
export function compiledOnce<Row>(
  slotCount: number,
  build: (queryable: Queryable, ...slots: never[]) => { compile(): CompiledQuery<Row> },
  edition: () => string = () => "",
): (queryable: Queryable, ...values: unknown[]) => Promise<QueryResult<Row>> {
  const slots = Array.from({ length: slotCount }, (_, index) => `\u0000slot${index}`);
  let compiled: { edition: string; query: CompiledQuery<Row> } | undefined;
  return (queryable, ...values) => {
    const current = edition();
    let query = compiled?.edition === current ? compiled.query : undefined;
    if (!query) {
      query = build(queryable, ...(slots as never[])).compile();
      // Compiled across a change of edition, it may hold either: used once, compiled again next time.
      compiled = edition() === current ? { edition: current, query } : undefined;
    }
    const parameters = query.parameters.map((parameter) => {
      const index = typeof parameter === "string" ? slots.indexOf(parameter) : -1;
      return index === -1 ? parameter : values[index];
    });
    return queryable.executeQuery<Row>({ ...query, parameters });
  };
}

import { randomBytes } from "node:crypto";
import { attributeType } from "./attributes.ts";
import { parseDn } from "./dn.ts";
import type { Entry } from "./entry.ts";
import { encodeFilter } from "./filter.ts";
import { matches } from "./matching.ts";
import { type Control, type EntryAttribute, Scope, type SearchRequest } from "./messages.ts";
import { type PageRequest, pagedResultsOid, pageResponseControl, readPageRequest } from "./paged-results.ts";
import { LdapError, ResultCode, type ResultCodeValue } from "./result-codes.ts";
import { rootDse } from "./root-dse.ts";
import { findEntry, matchedAncestor, searchTree, type Tree } from "./tree.ts";

/**
 * The search operation as a pipeline of named steps: read the paging control, resolve the base,
 * then stream matching entries to the client within the size and time limits, each with only
 * the attributes asked for.
 */
export type SearchLimits = {
  /** Most entries one search (or one page) returns, whatever the client asks. */
  sizeLimit: number;
  timeLimitSeconds: number;
};

export type SearchContext = {
  tree: Tree;
  limits: SearchLimits;
  pages: PagedSearches;
  send(entry: Entry, attributes: EntryAttribute[]): Promise<void>;
  /** True once the client abandoned this operation: stop without answering. */
  abandoned(): boolean;
};

export type SearchOutcome = { resultCode: ResultCodeValue; message?: string; controls: Control[] };

export async function search(
  context: SearchContext,
  request: SearchRequest,
  controls: Control[],
): Promise<SearchOutcome> {
  const page = readPaging(controls);
  const base = parseDn(request.base);
  if (base.length === 0 && request.scope === Scope.base) return answerRootDse(context, request);
  await requireBase(context.tree, base);
  const deadline = Date.now() + 1000 * effectiveLimit(request.timeLimit, context.limits.timeLimitSeconds);
  if (page) return searchPage(context, request, page, deadline);
  const limit = effectiveLimit(request.sizeLimit, context.limits.sizeLimit);
  const entries = new Lookahead(searchTree(context.tree, base, request.scope, request.filter));
  const outcome = await stream(context, request, entries, limit, deadline);
  await entries.close();
  return { ...outcome, controls: [] };
}

function readPaging(controls: Control[]): PageRequest | undefined {
  let page: PageRequest | undefined;
  for (const control of controls) {
    if (control.type === pagedResultsOid) page = readPageRequest(control);
    else if (control.critical)
      throw new LdapError(
        ResultCode.unavailableCriticalExtension,
        `control ${control.type} is not supported`,
      );
  }
  return page;
}

async function answerRootDse(context: SearchContext, request: SearchRequest): Promise<SearchOutcome> {
  const entry = rootDse();
  if (matches(request.filter, entry)) await context.send(entry, selectAttributes(entry, request));
  return { resultCode: ResultCode.success, controls: [] };
}

async function requireBase(tree: Tree, base: ReturnType<typeof parseDn>): Promise<void> {
  if (base.length === 0)
    throw new LdapError(ResultCode.noSuchObject, "the root DSE has no entries below it: search from o=nhs");
  if (await findEntry(tree, base)) return;
  throw new LdapError(ResultCode.noSuchObject, "no such entry", await matchedAncestor(tree, base));
}

/** A client's limit (0: none) within the server's own. */
function effectiveLimit(requested: number, server: number): number {
  return requested > 0 ? Math.min(requested, server) : server;
}

/** Sends up to `limit` entries; sizeLimitExceeded when one more was waiting. */
async function stream(
  context: SearchContext,
  request: SearchRequest,
  entries: Lookahead,
  limit: number,
  deadline: number,
): Promise<{ resultCode: ResultCodeValue; message?: string }> {
  let sent = 0;
  for (;;) {
    if (Date.now() > deadline)
      return { resultCode: ResultCode.timeLimitExceeded, message: "time limit exceeded" };
    if (context.abandoned()) return { resultCode: ResultCode.success };
    const next = await entries.peek();
    if (next === undefined) return { resultCode: ResultCode.success };
    if (sent >= limit)
      return { resultCode: ResultCode.sizeLimitExceeded, message: `size limit of ${limit} entries exceeded` };
    await entries.take();
    await context.send(next, selectAttributes(next, request));
    sent++;
  }
}

/**
 * One page of a paged search (RFC 2696). The search in progress is kept on the connection under
 * a random cookie, with the request it belongs to, so the next page continues where this one
 * stopped and a cookie cannot be replayed against another search.
 */
async function searchPage(
  context: SearchContext,
  request: SearchRequest,
  page: PageRequest,
  deadline: number,
): Promise<SearchOutcome> {
  const fingerprint = fingerprintOf(request);
  let state: PagedSearch | undefined;
  if (page.cookie.length > 0) {
    state = context.pages.take(page.cookie);
    if (!state || state.fingerprint !== fingerprint)
      throw new LdapError(ResultCode.protocolError, "paged results cookie is invalid");
  }
  if (page.size === 0) {
    await state?.entries.close();
    return { resultCode: ResultCode.success, controls: [pageResponseControl(Buffer.alloc(0))] };
  }
  state ??= {
    fingerprint,
    entries: new Lookahead(searchTree(context.tree, parseDn(request.base), request.scope, request.filter)),
    remaining: request.sizeLimit > 0 ? request.sizeLimit : Number.POSITIVE_INFINITY,
  };
  const pageSize = Math.min(page.size, context.limits.sizeLimit, state.remaining);
  let sent = 0;
  const counting: SearchContext = {
    ...context,
    send: async (entry, attributes) => {
      sent++;
      await context.send(entry, attributes);
    },
  };
  const outcome = await stream(counting, request, state.entries, pageSize, deadline);
  state.remaining -= sent;
  if (outcome.resultCode === ResultCode.sizeLimitExceeded) {
    // The page is full and more entries wait: unless the client's own size limit is spent.
    if (state.remaining <= 0) {
      await state.entries.close();
      return { ...outcome, controls: [pageResponseControl(Buffer.alloc(0))] };
    }
    return { resultCode: ResultCode.success, controls: [pageResponseControl(context.pages.keep(state))] };
  }
  await state.entries.close();
  return { ...outcome, controls: [pageResponseControl(Buffer.alloc(0))] };
}

function fingerprintOf(request: SearchRequest): string {
  return JSON.stringify([
    parseDn(request.base),
    request.scope,
    encodeFilter(request.filter).toString("base64"),
    request.attributes,
    request.typesOnly,
  ]);
}

type PagedSearch = { fingerprint: string; entries: Lookahead; remaining: number };

/** The paged searches a connection has in progress, a few at most, the oldest dropped first. */
export class PagedSearches {
  private readonly searches = new Map<string, PagedSearch>();
  private readonly maximum: number;

  constructor(maximum = 8) {
    this.maximum = maximum;
  }

  keep(search: PagedSearch): Buffer {
    const cookie = randomBytes(12);
    this.searches.set(cookie.toString("hex"), search);
    if (this.searches.size > this.maximum) {
      const [oldest] = this.searches.keys();
      if (oldest !== undefined) {
        void this.searches.get(oldest)?.entries.close();
        this.searches.delete(oldest);
      }
    }
    return cookie;
  }

  take(cookie: Buffer): PagedSearch | undefined {
    const key = cookie.toString("hex");
    const search = this.searches.get(key);
    this.searches.delete(key);
    return search;
  }

  async closeAll(): Promise<void> {
    for (const search of this.searches.values()) await search.entries.close();
    this.searches.clear();
  }
}

/** An entry stream that can show the next entry without taking it, to tell "more" from "done". */
class Lookahead {
  private readonly source: AsyncGenerator<Entry>;
  private next: Promise<IteratorResult<Entry>> | undefined;

  constructor(source: AsyncGenerator<Entry>) {
    this.source = source;
  }

  async peek(): Promise<Entry | undefined> {
    this.next ??= this.source.next();
    const result = await this.next;
    return result.done ? undefined : result.value;
  }

  async take(): Promise<void> {
    await this.peek();
    this.next = undefined;
  }

  async close(): Promise<void> {
    await this.source.return(undefined);
  }
}

/**
 * The attributes to return (RFC 4511 section 4.5.1.8): none asked or "*" means every user
 * attribute, "+" every operational one, "1.1" alone none at all; names in any letter case.
 */
export function selectAttributes(
  entry: Entry,
  request: Pick<SearchRequest, "attributes" | "typesOnly">,
): EntryAttribute[] {
  const asked = request.attributes.map((name) => name.toLowerCase());
  const named = new Set(
    asked.flatMap((name) => {
      const type = attributeType(name);
      return type ? [type.name] : [];
    }),
  );
  const allUser = asked.length === 0 || asked.includes("*");
  const allOperational = asked.includes("+");
  const selected = entry.attributes.filter((attribute) => {
    const type = attributeType(attribute.type);
    if (named.has(attribute.type)) return true;
    return type?.operational ? allOperational : allUser;
  });
  return selected.map((attribute) => ({
    type: attribute.type,
    values: request.typesOnly ? [] : attribute.values,
  }));
}

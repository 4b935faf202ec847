import type { Page, SearchParameters } from "./search-parameters.ts";

export type Resource = { resourceType: string; id: string; [field: string]: unknown };

/** Where a search ran, to write absolute fullUrls and paging links. */
export type SearchContext = { base: string; path: string; parameters: SearchParameters };

/**
 * A searchset Bundle: the page of matches, then the resources `_include`/`_revinclude` brought
 * in, with `total` counting every match and first/previous/next links around the page.
 */
export function searchset(
  context: SearchContext,
  result: { matches: Resource[]; total: number; includes?: Resource[]; page?: Page },
) {
  const entry = [
    ...result.matches.map((resource) => entryFor(context, resource, "match")),
    ...(result.includes ?? []).map((resource) => entryFor(context, resource, "include")),
  ];
  return {
    resourceType: "Bundle",
    type: "searchset",
    total: result.total,
    link: pagingLinks(context, result.total, result.page),
    // FHIR forbids empty arrays, so an empty result has no entry at all.
    ...(entry.length > 0 ? { entry } : {}),
  };
}

function entryFor(context: SearchContext, resource: Resource, mode: "match" | "include") {
  return { fullUrl: `${context.base}/${resource.resourceType}/${resource.id}`, resource, search: { mode } };
}

function pagingLinks(context: SearchContext, total: number, page: Page | undefined) {
  const linkTo = (offset: number | undefined) => {
    const query = new URLSearchParams(
      context.parameters.entries().filter(([name]) => name !== "_offset" && name !== "_count"),
    );
    if (page) {
      query.set("_count", String(page.count));
      if (offset) query.set("_offset", String(offset));
    }
    const text = query.toString();
    return `${context.base}/${context.path}${text ? `?${text}` : ""}`;
  };
  const links = [{ relation: "self", url: linkTo(page?.offset) }];
  if (!page) return links;
  links.push({ relation: "first", url: linkTo(0) });
  if (page.offset > 0)
    links.push({ relation: "previous", url: linkTo(Math.max(0, page.offset - page.count)) });
  if (page.offset + page.count < total)
    links.push({ relation: "next", url: linkTo(page.offset + page.count) });
  return links;
}

import type { IncomingMessage } from "node:http";
import type { KoaContextWithOIDC } from "oidc-provider";
import type { Interaction } from "./sign-in/journey.ts";

const firstPages = new WeakMap<IncomingMessage, Interaction>();

/**
 * An authorization request that needs someone to sign in is answered with the sign-in's first
 * page itself, rather than oidc-provider's redirect to the interaction's address and the page
 * there: one request and one read of the interaction fewer in every sign-in. The provider's
 * answer is held back with its cookies kept (the interaction's and the resume's), and the page
 * is rendered in its place (`firstPageOf`); its forms post to the interaction's own address,
 * where the journey goes on as before. Only a GET is answered so, so that the page can be
 * reloaded, and only for the login prompt, whose page needs nothing from the interaction's cookie.
 */
export function firstPageInPlace(interactionPath: (uid: string) => string) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>) => {
    await next();
    const interaction = ctx.oidc?.entities.Interaction as Interaction | undefined;
    if (
      ctx.method !== "GET" ||
      ctx.oidc?.route !== "authorization" ||
      ctx.status !== 303 ||
      interaction?.prompt.name !== "login" ||
      ctx.response.get("location") !== interactionPath(interaction.uid)
    )
      return;
    ctx.respond = false;
    for (const header of ["location", "content-type", "content-length"]) ctx.res.removeHeader(header);
    firstPages.set(ctx.req, interaction);
  };
}

/** The interaction whose first page is to answer this request, if the provider held its answer back. */
export function firstPageOf(request: IncomingMessage): Interaction | undefined {
  return firstPages.get(request);
}

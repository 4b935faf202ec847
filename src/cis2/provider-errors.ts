import type Provider from "oidc-provider";
import { errors, type KoaContextWithOIDC } from "oidc-provider";
import { renderProviderError } from "./provider-pages.ts";

/**
 * oidc-provider answers an endpoint's failures itself, but one raised after its error handling
 * (the session saved as a logout answers, holding a refused parameter) would reach Koa's
 * plain-text default. This answers such a failure as oidc-provider answers any other: OAuth
 * error JSON, or the error page to a browser; and a server_error is reported like the rest.
 */
export function answerLateErrors(provider: Provider) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>) => {
    try {
      await next();
    } catch (error) {
      const exposed = error instanceof errors.OIDCProviderError && error.expose;
      const out = exposed
        ? { error: error.error, error_description: error.error_description }
        : { error: "server_error", error_description: "oops! something went wrong" };
      ctx.status = exposed ? error.statusCode : 500;
      if (ctx.accepts("json", "html") === "html") await renderProviderError(ctx, out);
      else ctx.body = out;
      if (!exposed) provider.emit("server_error", ctx, error);
    }
  };
}

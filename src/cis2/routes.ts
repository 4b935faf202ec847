import type { IncomingMessage } from "node:http";
import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import { realmPath } from "../config.ts";
import type { CodeLists } from "../rbac/code-lists.ts";
import type { Sealer } from "../secrets/sealed.ts";
import type { Db } from "../store/database.ts";
import { firstPageOf } from "./first-page-in-place.ts";
import type { ProviderHost } from "./host.ts";
import { signInPath } from "./provider.ts";
import { inRequestScope } from "./request-scope.ts";
import { registerSignInPages, type SmartcardSignIn } from "./sign-in/index.ts";

/** CIS2 Authentication: the provider under the realm path and the sign-in journey's pages. */
export async function registerCis2(
  app: FastifyInstance,
  options: {
    host: ProviderHost;
    db: Db;
    lists: CodeLists;
    developmentLogin: boolean;
    sealer: Sealer;
    smartcard: SmartcardSignIn;
    /** Where the realm is mounted: the issuer's path (the sandbox's is its own). */
    realm?: string;
    /** The sandbox's persona chooser, in place of the authenticators. */
    chooserPath?: (uid: string) => string;
  },
): Promise<void> {
  const { host, realm: mount = realmPath } = options;
  // Failures oidc-provider answers as server_error reach no Fastify error handler: log them here,
  // with the request's own logger (and so its request id) where there is one.
  const loggers = new WeakMap<IncomingMessage, FastifyBaseLogger>();
  host.onProvider((provider) =>
    provider.on("server_error", (ctx, error) =>
      (loggers.get(ctx.req) ?? app.log).error(
        { err: error, path: ctx.path, method: ctx.method },
        "CIS2 provider request failed",
      ),
    ),
  );
  // Each request reads what it needs once; see request-scope.ts.
  app.addHook("onRequest", (_request, _reply, done) => inRequestScope(done));
  const showInteraction = registerSignInPages(app, {
    provider: host.provider,
    db: options.db,
    lists: options.lists,
    developmentLogin: options.developmentLogin,
    base: signInPath,
    sealer: options.sealer,
    smartcard: options.smartcard,
    chooserPath: options.chooserPath,
  });
  await app.register(async (realm) => {
    // oidc-provider parses its own request bodies: leave the stream unread.
    realm.removeAllContentTypeParsers();
    realm.addContentTypeParser("*", (_request, _payload, done) => done(null));
    const handler = async (
      request: import("fastify").FastifyRequest,
      reply: import("fastify").FastifyReply,
    ) => {
      loggers.set(request.raw, request.log);
      const raw = request.raw as typeof request.raw & { originalUrl?: string };
      raw.originalUrl = raw.url;
      raw.url = (raw.url ?? "/").slice(mount.length) || "/";
      await host.callback()(raw, reply.raw);
      raw.url = raw.originalUrl;
      const interaction = firstPageOf(raw);
      if (interaction) return showInteraction(request, reply, interaction);
      // The provider has answered on the raw response itself.
      reply.hijack();
    };
    // oidc-provider answers bad input in OAuth's terms; its adapter refuses NUL bytes.
    const config = { checksOwnInput: true };
    realm.all(mount, { config }, handler);
    realm.all(`${mount}/*`, { config }, handler);
  });
}

import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance, FastifyReply } from "fastify";
import nunjucks from "nunjucks";
import { wordingFilters } from "./wording.ts";

const nhsukRoot = dirname(createRequire(import.meta.url).resolve("nhsuk-frontend/package.json"));
const viewsDir = fileURLToPath(new URL("./views/", import.meta.url));

/** Nunjucks with a capability's own views first, then the shared views, then the NHS design system's. */
function environmentFor(capabilityViewDirs: string[]): nunjucks.Environment {
  const environment = new nunjucks.Environment(
    new nunjucks.FileSystemLoader([...capabilityViewDirs, viewsDir, join(nhsukRoot, "src")], {
      noCache: process.env.NODE_ENV === "development",
    }),
    { autoescape: true, throwOnUndefined: false },
  );
  // Dates, times, methods and events are said one way on every page (wording.ts).
  for (const [name, filter] of Object.entries(wordingFilters)) environment.addFilter(name, filter);
  return environment;
}

export type PageContext = Record<string, unknown>;

/** Set once by `careid sandbox`: every page then carries the sandbox banner (layout.njk). */
let sandboxBanner = false;

export function markPagesAsSandbox(): void {
  sandboxBanner = true;
}

export type PageRenderer = {
  renderHtml(view: string, context?: PageContext): string;
  /** Renders a page with the CSP nonce the layout's inline script needs. */
  renderPage(reply: FastifyReply, view: string, context?: PageContext, statusCode?: number): FastifyReply;
};

/** Pages from a capability's own views folder (which may extend the shared layout). */
export function pageRenderer(capabilityViewDirs: string[] = []): PageRenderer {
  const environment = environmentFor(capabilityViewDirs);
  const renderHtml = (view: string, context: PageContext = {}) =>
    environment.render(view, { serviceName: "Care Identity Service", sandbox: sandboxBanner, ...context });
  return {
    renderHtml,
    renderPage(reply, view, context = {}, statusCode = 200) {
      const cspNonce = (reply as FastifyReply & { cspNonce?: { script: string } }).cspNonce?.script;
      const html = renderHtml(view, { ...context, cspNonce });
      return reply.code(statusCode).type("text/html; charset=utf-8").send(html);
    },
  };
}

export const { renderHtml, renderPage } = pageRenderer();

/** The NHS design system's built CSS, JavaScript and images under /assets, and the script that starts its header. */
export async function registerAssets(app: FastifyInstance): Promise<void> {
  await app.register(fastifyStatic, {
    root: join(nhsukRoot, "dist", "nhsuk"),
    prefix: "/assets/",
    allowedPath: (path) => /^\/(assets\/|nhsuk-frontend\.min\.(css|js)$)/.test(path),
    maxAge: "1h",
  });
  await app.register(fastifyStatic, {
    root: fileURLToPath(new URL("./browser/", import.meta.url)),
    prefix: "/scripts/",
    decorateReply: false,
    maxAge: "1h",
  });
}

import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance, FastifyReply } from "fastify";
import nunjucks from "nunjucks";
import { wordingFilters } from "./wording.ts";

const nhsukRoot = dirname(createRequire(import.meta.url).resolve("nhsuk-frontend/package.json"));
const viewsDir = fileURLToPath(new URL("./views/", import.meta.url));

type Exported = Record<string, unknown>;
type Done = (error: Error | null, exported?: Exported) => void;
type Exporting = { getExported(context: unknown, parentFrame?: unknown, done?: Done): void };

/**
 * Nunjucks runs an imported template's top level on every `{% from … import … %}` to collect its
 * macros: a page importing the design system's components did that for each of them on every
 * render, about a tenth of the page's time. An import without context (the only kind our views
 * make) yields the same macros every time, so each template's are collected once.
 */
function collectMacrosOnce(): void {
  const prototype = nunjucks.Template.prototype as unknown as Exporting;
  const collect = prototype.getExported;
  const collected = new WeakMap<object, Exported>();
  prototype.getExported = function (this: object, context, parentFrame, done) {
    if (typeof context !== "function") return collect.call(this, context, parentFrame, done);
    const answer = context as Done;
    const exported = collected.get(this);
    if (exported) return answer(null, exported);
    collect.call(this, (error: Error | null, macros?: Exported) => {
      if (!error && macros) collected.set(this, macros);
      answer(error, macros);
    });
  };
}
collectMacrosOnce();

type ExtensionParser = {
  nextToken(): { value: string; lineno: number; colno: number };
  parseSignature(throwErrors: null, noParens: boolean): { addChild(node: unknown): void };
  advanceAfterBlockEnd(name?: string): void;
  parseUntilBlocks(...names: string[]): unknown;
};
type ExtensionNodes = {
  Literal: new (line: number, column: number, value: string) => unknown;
  CallExtension: new (extension: object, method: string, args: unknown, contentArgs: unknown[]) => unknown;
};

/**
 * `{% cached key %}…{% endcached %}`: the block is rendered once for each key and its HTML used
 * again. For blocks that depend on nothing but their key, and whose keys are the code's own
 * words, never a user's (the layout's header, by service name, and its footer): the design
 * system's header and footer macros were a fifth of a sign-in page's rendering, for the same
 * HTML every time.
 */
class CachedBlocks {
  tags = ["cached"];
  #blocks = 0;
  #rendered = new Map<string, nunjucks.runtime.SafeString>();

  parse(parser: ExtensionParser, nodes: ExtensionNodes) {
    const tag = parser.nextToken();
    const args = parser.parseSignature(null, true);
    parser.advanceAfterBlockEnd(tag.value);
    const body = parser.parseUntilBlocks("endcached");
    parser.advanceAfterBlockEnd();
    // Each block in a template has its own place in the cache, whatever its key.
    args.addChild(new nodes.Literal(tag.lineno, tag.colno, String(this.#blocks++)));
    return new nodes.CallExtension(this, "run", args, [body]);
  }

  run(_context: unknown, key: unknown, block: string, body: () => string) {
    const place = `${block}:${String(key)}`;
    let html = this.#rendered.get(place);
    if (!html) {
      html = new nunjucks.runtime.SafeString(body());
      this.#rendered.set(place, html);
    }
    return html;
  }
}

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
  environment.addFilter("trim", trim);
  environment.addExtension("CachedBlocks", new CachedBlocks());
  return environment;
}

/**
 * Nunjucks' own trim filter strips with /^\s*|\s*$/g, which tries the end-of-string match from
 * every whitespace run: the design system trims whole indented components, and that was a fiftieth
 * of a sign-in page's CPU. String.prototype.trim removes the same characters (JavaScript's \s)
 * in one pass; a safe string stays safe, as nunjucks' filter keeps it.
 */
export function trim(value: unknown): unknown {
  const trimmed = String(value).trim();
  return value instanceof nunjucks.runtime.SafeString ? new nunjucks.runtime.SafeString(trimmed) : trimmed;
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
      const cspNonce = reply.cspNonce?.script;
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

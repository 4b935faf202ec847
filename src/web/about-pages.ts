import type { FastifyInstance } from "fastify";
import { renderPage } from "./pages.ts";

/**
 * The pages every footer links to: help with signing in, the accessibility statement and the
 * privacy notice. Their words are in the views; a deployment edits those for its own service desk.
 */
const aboutPages = {
  "/help": { view: "about/help.njk", pageTitle: "Help with the Care Identity Service" },
  "/accessibility": { view: "about/accessibility.njk", pageTitle: "Accessibility statement" },
  "/privacy": { view: "about/privacy.njk", pageTitle: "Privacy notice" },
} as const;

export function registerAboutPages(app: FastifyInstance): void {
  for (const [path, { view, pageTitle }] of Object.entries(aboutPages))
    app.get(path, async (_request, reply) => renderPage(reply, view, { pageTitle }));
}

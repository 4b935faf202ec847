import type { FastifyInstance } from "fastify";
import { pageRenderer } from "../web/pages.ts";
import { folderMessages } from "./folder-sender.ts";

const { renderPage } = pageRenderer([new URL("./views/", import.meta.url).pathname]);

/**
 * The demo's inbox: with neither SMTP nor GOV.UK Notify configured, what the service would have
 * sent is written to the outbox folder, and this page shows it (demo only: codes are in clear).
 */
export function registerDemoMessages(app: FastifyInstance, folder: string): void {
  app.get("/demo/messages", async (_request, reply) =>
    renderPage(reply.header("cache-control", "no-store"), "demo-messages.njk", {
      pageTitle: "Messages sent (demo)",
      folder,
      messages: folderMessages(folder),
    }),
  );
}

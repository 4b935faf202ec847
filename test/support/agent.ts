import { spawn } from "node:child_process";
import { once } from "node:events";
import type { BlankCard } from "./tokens.ts";

export type RunningAgent = {
  url: string;
  pid: number | undefined;
  /** Every event the agent printed so far (JSON lines). */
  events: Array<{ event: string } & Record<string, unknown>>;
  /** Resolves with the first event of this name printed from now on (or already, if `since`). */
  waitFor(event: string, since?: number): Promise<Record<string, unknown>>;
  output(): string;
};

/** `careid agent` as a real process on a free port, for a card and a service, stopped when the test ends. */
export async function startAgent(
  t: { after(cleanup: () => Promise<void>): void },
  options: { serviceUrl: string; card: BlankCard; port?: number; extraArguments?: string[] },
): Promise<RunningAgent> {
  const child = spawn(
    process.execPath,
    [
      "src/main.ts",
      "agent",
      "--service",
      options.serviceUrl,
      "--module",
      options.card.modulePath,
      "--port",
      String(options.port ?? 0),
      ...(options.extraArguments ?? []),
    ],
    { env: { ...process.env, ...options.card.environment }, stdio: ["ignore", "pipe", "pipe"] },
  );
  t.after(async () => {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await once(child, "exit");
    }
  });
  let text = "";
  const events: RunningAgent["events"] = [];
  const waiters: Array<{ event: string; from: number; resolve(value: Record<string, unknown>): void }> = [];
  const settle = () => {
    for (const waiter of [...waiters]) {
      const found = events.slice(waiter.from).find((entry) => entry.event === waiter.event);
      if (found) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(found);
      }
    }
  };
  child.stderr.on("data", (chunk: Buffer) => {
    text += chunk.toString();
  });
  let partial = "";
  child.stdout.on("data", (chunk: Buffer) => {
    text += chunk.toString();
    const lines = (partial + chunk.toString()).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) if (line.startsWith("{")) events.push(JSON.parse(line));
    settle();
  });
  const waitFor = (event: string, since = events.length) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the agent did not report ${event}:\n${text}`)),
        20_000,
      );
      waiters.push({
        event,
        from: since,
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
      });
      settle();
    });
  const listening = await Promise.race([
    waitFor("listening", 0),
    once(child, "exit").then(() => {
      throw new Error(`the agent stopped:\n${text}`);
    }),
  ]);
  return { url: String(listening.url), pid: child.pid, events, waitFor, output: () => text };
}

/** Posts one of the agent's own page forms, as the holder's browser does from that page. */
export function postAgentForm(
  agentUrl: string,
  path: string,
  form: Record<string, string>,
): Promise<Response> {
  return fetch(`${agentUrl}${path}`, {
    method: "POST",
    headers: { origin: agentUrl, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form),
  });
}

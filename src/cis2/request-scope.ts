import { AsyncLocalStorage } from "node:async_hooks";

/**
 * What one HTTP request has already read, so that it reads each thing once. oidc-provider and
 * the sign-in pages read the same interaction, session, grant or positions several times within
 * a request (interactionDetails, then interactionResult; the role check, then the role page);
 * within one request those reads would see the same rows, so the first answer serves the rest.
 * Nothing outlives its request: the next request, on this node or another, reads afresh.
 */
const scope = new AsyncLocalStorage<Map<string, Promise<unknown>>>();

/** Runs a request's work with a scope of its own (as a Fastify onRequest hook: `inRequestScope(done)`). */
export function inRequestScope<T>(work: () => T): T {
  return scope.run(new Map(), work);
}

/** The first answer to `read` under `key` in this request; outside a request, reads every time. */
export function readOnce<T>(key: string, read: () => Promise<T>): Promise<T> {
  const memo = scope.getStore();
  if (!memo) return read();
  let answer = memo.get(key) as Promise<T> | undefined;
  if (!answer) {
    answer = read();
    memo.set(key, answer);
    // A failed read is not remembered: a retry in the same request reads again.
    answer.catch(() => memo.delete(key));
  }
  return answer;
}

/** Keeps a value already read (with something else) for later reads in this request. */
export function remember(key: string, value: unknown): void {
  scope.getStore()?.set(key, Promise.resolve(value));
}

/** Forgets what this request read under keys starting with `prefix`, after it changed them. */
export function forget(prefix: string): void {
  const memo = scope.getStore();
  if (!memo) return;
  for (const key of memo.keys()) if (key.startsWith(prefix)) memo.delete(key);
}

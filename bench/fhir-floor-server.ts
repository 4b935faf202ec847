/**
 * The floor the service's FHIR Practitioner read is measured against: `node:http` and `pg`, no
 * framework, doing at the database and on the wire what the service's read does and nothing
 * else. Per request: refuse an Accept that excludes FHIR JSON; take the `apikey` header, find
 * its active application by SHA-256 digest (remembered 10 s, as the service's key cache does);
 * count the request against that key's per-minute limit in memory (fixed aligned windows, added
 * to `api_rate_limits` once a second with the same statement as the service's fleet counter);
 * read the person with the service's query, as a named prepared statement; answer the
 * Practitioner (or a 404/410 OperationOutcome) built by the service's own functions.
 *
 *   DATABASE_URL=postgres://... PORT=3918 node bench/fhir-floor-server.ts
 *
 * Started by bench/fhir-practitioner.ts beside `careid serve`; not part of the service.
 */
import { createHash } from "node:crypto";
import http from "node:http";
import pg from "pg";
import { acceptsFhirJson, fhirJson } from "../src/directory/fhir/content-negotiation.ts";
import { FhirError, operationOutcomeFor } from "../src/directory/fhir/operation-outcome.ts";
import { practitioner } from "../src/directory/fhir/worker-resources.ts";
import { personFromRow } from "../src/people/people.ts";
import { isCareIdentifier } from "../src/store/identifiers.ts";

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) throw new Error("Set DATABASE_URL");
const port = Number(process.env.PORT ?? 3918);

// The service's pool: ten connections, dates as text and bigints as numbers.
const pool = new pg.Pool({
  connectionString: databaseUrl,
  max: 10,
  types: {
    getTypeParser: ((oid: number, format?: "text" | "binary") =>
      oid === 1082
        ? (value: string) => value
        : oid === 20
          ? Number
          : pg.types.getTypeParser(oid, format)) as never,
  },
});

// The texts Kysely compiles for `applicationForKey` and `findPerson`, byte for byte.
const applicationQuery = {
  name: "floor_application",
  text: 'select * from "api_applications" where "key_digest" = $1 and "status" = $2',
};
const personQuery = {
  name: "floor_person",
  text: `select *, (SELECT coalesce(json_agg(json_build_object('body', r.body, 'number', r.number) ORDER BY r.body), '[]')
        FROM professional_registrations r WHERE r.uuid = people.uuid) as "registrations" from "people" where "uuid" = $1`,
};

type Application = { id: string; rateLimitPerMinute: number };
const keys = new Map<string, { application: Application; expires: number }>();

async function applicationFor(key: string): Promise<Application | undefined> {
  const digest = createHash("sha256").update(key).digest("hex");
  const now = Date.now();
  const cached = keys.get(digest);
  if (cached && cached.expires > now) return cached.application;
  const { rows } = await pool.query({ ...applicationQuery, values: [digest, "active"] });
  const row = rows[0];
  if (!row) return undefined;
  const application = { id: row.id as string, rateLimitPerMinute: row.rate_limit_per_minute as number };
  keys.set(digest, { application, expires: now + 10_000 });
  return application;
}

// Per-key counts in fixed aligned minutes: the fleet's total as last read, plus this node's since.
const window = 60_000;
const counters = new Map<string, { windowStart: number; total: number; pending: number }>();

function overLimit(application: Application, now = Date.now()): boolean {
  const key = `/healthcare-worker/FHIR/R4:${application.id}`;
  const windowStart = now - (now % window);
  let counter = counters.get(key);
  if (!counter || counter.windowStart !== windowStart) {
    counter = { windowStart, total: 0, pending: 0 };
    counters.set(key, counter);
  }
  counter.pending++;
  return counter.total + counter.pending > application.rateLimitPerMinute;
}

setInterval(async () => {
  const now = Date.now();
  const sent = [...counters].filter(([key, counter]) => {
    if (counter.windowStart + window > now) return true;
    counters.delete(key);
    return false;
  });
  if (sent.length === 0) return;
  const added = sent.map(([, counter]) => counter.pending);
  const { rows } = await pool.query(
    `INSERT INTO api_rate_limits (key, window_start, count)
     SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::integer[])
     ON CONFLICT (key, window_start) DO UPDATE SET count = api_rate_limits.count + EXCLUDED.count
     RETURNING key, count`,
    [sent.map(([key]) => key), sent.map(([, counter]) => new Date(counter.windowStart).toISOString()), added],
  );
  for (const row of rows) {
    const index = sent.findIndex(([key]) => key === row.key);
    const counter = sent[index]?.[1];
    if (!counter) continue;
    counter.pending -= added[index] ?? 0;
    counter.total = row.count;
  }
}, 1000).unref();

const prefix = "/healthcare-worker/FHIR/R4/Practitioner/";

async function answer(request: http.IncomingMessage): Promise<{ status: number; body: unknown }> {
  if (!acceptsFhirJson(request.headers.accept))
    throw FhirError.notAcceptable(`This API answers only in ${fhirJson}, not ${request.headers.accept}`);
  const key = request.headers.apikey;
  if (typeof key !== "string" || key === "")
    throw FhirError.unauthorised("Send your application's API key in the apikey header");
  const application = await applicationFor(key);
  if (!application) throw FhirError.unauthorised("The API key is not valid, or has been revoked");
  if (overLimit(application))
    throw FhirError.tooManyRequests(
      `Rate limit of ${application.rateLimitPerMinute} requests a minute exceeded`,
    );
  const url = request.url ?? "";
  if (request.method !== "GET" || !url.startsWith(prefix))
    throw FhirError.notFound(`This API has nothing at ${request.method} ${url.split("?")[0]}`);
  if (url.includes("?")) throw FhirError.invalidParameter("A read takes no search parameters");
  const id = url.slice(prefix.length);
  if (!isCareIdentifier(id))
    throw FhirError.invalidParameter("The Practitioner id must be a 12-digit Care Identity UUID");
  const { rows } = await pool.query({ ...personQuery, values: [id] });
  const row = rows[0];
  if (row?.status === "closed") throw FhirError.gone(`The Care Identity ${id} has been closed`);
  if (row?.status !== "active") throw FhirError.notFound(`No published Care Identity has UUID ${id}`);
  return { status: 200, body: practitioner(personFromRow(row, row.registrations)) };
}

const server = http.createServer((request, response) => {
  if (request.url === "/health/ready") return void response.end("ok");
  answer(request)
    .catch((error: unknown) => {
      const { status, outcome } = operationOutcomeFor(error);
      return { status, body: outcome };
    })
    .then(({ status, body }) => {
      response.writeHead(status, { "content-type": `${fhirJson}; charset=utf-8` });
      response.end(JSON.stringify(body));
    });
});
server.keepAliveTimeout = 72_000;
server.listen(port, "127.0.0.1");
process.on("SIGTERM", () => {
  server.close();
  void pool.end();
  process.exit(0);
});

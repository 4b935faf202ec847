import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { assertAuditIntact, checkFleetTools, postgresCluster, startFleet } from "./fleet.ts";
import { demoPeople, fleetSignIn } from "./sign-in.ts";

test("a node killed with SIGKILL amid 50 concurrent sign-ins: every sign-in completes, no 500", async (t) => {
  checkFleetTools();
  const database = await postgresCluster(t, 55701);
  const fleet = await startFleet(t, database, { nodes: 2, port: 4700, demo: true });
  const people = (await demoPeople(fleet.origin)).filter((person) => person.positions.length === 1);

  let requests = 0;
  let killedAt: number | undefined;
  const victim = fleet.nodePid(1);
  // Killed once the sign-ins are well under way: about a quarter of their requests answered.
  const via = () => {
    requests++;
    if (requests === 120 && killedAt === undefined) {
      killedAt = requests;
      process.kill(victim, "SIGKILL");
    }
    return fleet.origin;
  };
  const signIns = await Promise.allSettled(
    Array.from({ length: 50 }, (_, index) =>
      fleetSignIn({
        issuer: fleet.issuer,
        identifier: people[index % people.length]?.uuid ?? "",
        via,
        retrySeconds: 20,
      }),
    ),
  );
  assert.ok(killedAt, "node 1 was killed during the sign-ins");
  assert.ok(ended(victim), "node 1 is gone");
  const failed = signIns.flatMap((result) => (result.status === "rejected" ? [String(result.reason)] : []));
  assert.deepEqual(failed, [], "every sign-in completed");
  const completed = signIns.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  assert.equal(completed.length, 50);
  for (const [index, signedIn] of completed.entries())
    assert.equal(signedIn.sub, people[index % people.length]?.uuid);
  t.diagnostic(
    `requests ${requests}; killed after ${killedAt}; steps sent again ${completed.reduce((sum, signedIn) => sum + signedIn.retries, 0)}`,
  );
  await assertAuditIntact(fleet.env);
});

/** Whether a process has ended: gone, or a zombie its adoptive parent has not yet reaped. */
function ended(pid: number): boolean {
  try {
    return /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return true;
  }
}

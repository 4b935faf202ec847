import { decide } from "../../ra-policy/policy.ts";
import { listRequests } from "../request-dashboard.ts";
import type { Cim } from "./context.ts";
import { namesFor } from "./names.ts";
import { codesOfRequests, requestSummary } from "./request-words.ts";

/** How many waiting requests the home page lists; the rest are a link away. */
const worklistLength = 10;

/**
 * What waits for the signed-in user on CIM's home page: the open requests in their scope they
 * may decide (oldest first, with how many there are), and their own requests still waiting.
 */
export async function worklistOf(cim: Cim, uuid: string) {
  const mayDecide = (await decide(cim.db, uuid, "request.decide", {})).allowed;
  const waiting = mayDecide
    ? await listRequests(cim.db, uuid, "open", { limit: worklistLength })
    : { total: 0, requests: [] };
  const own = await listRequests(cim.db, uuid, "mine", { limit: 200 });
  const ownOpen = own.requests.filter((request) => request.status === "open");
  const names = await namesFor(cim.db, cim.lists, codesOfRequests(waiting.requests));
  return {
    mayDecide,
    waitingTotal: waiting.total,
    requests: waiting.requests.map((item) => ({
      ...item,
      summary: requestSummary(item, names),
      subject: names.person(item.subjectUuid),
      requester: item.requestedBy ? names.person(item.requestedBy) : `From ${item.source}`,
    })),
    ownWaiting: ownOpen.length,
  };
}

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  assuranceWords,
  clockTime,
  dateAndTime,
  eventWords,
  longDate,
  methodName,
  timeLeft,
} from "./wording.ts";

test("a calendar date reads in NHS style, the same day wherever the server is", () => {
  assert.equal(longDate("1988-12-19"), "19 December 1988");
  assert.equal(longDate("2015-04-01"), "1 April 2015");
  assert.equal(longDate(null), "");
  assert.equal(longDate("not a date"), "not a date");
  // Just after midnight in London in summer is still the previous day in UTC.
  assert.equal(longDate(new Date("2025-06-30T23:30:00Z")), "1 July 2025");
  assert.equal(longDate(new Date("2025-01-31T23:30:00Z")), "31 January 2025");
});

test("an instant reads on the UK's clock: GMT in winter, BST in summer", () => {
  assert.equal(clockTime(new Date("2025-01-15T14:05:00Z")), "2:05pm");
  assert.equal(clockTime(new Date("2025-07-15T08:00:00Z")), "9am");
  // Half past eleven at night UTC on 30 June is already 1 July in the UK.
  assert.equal(dateAndTime(new Date("2025-06-30T23:30:00Z")), "1 July 2025 at 12:30am");
});

test("methods and events are said in words, unknown codes readably", () => {
  assert.equal(methodName("TOTP"), "Authenticator app");
  assert.equal(methodName("PASSKEY_SYNCED"), "Passkey");
  assert.match(assuranceWords("FIDO2"), /^Can be used for services that need high assurance/);
  assert.match(assuranceWords("PASSKEY_SYNCED"), /^Cannot be used/);
  assert.equal(eventWords("password.set"), "Password set");
  assert.equal(eventWords("smartcard.card-repaired"), "Smartcard card repaired");
});

test("how long a link has left reads in the largest whole unit", () => {
  const now = new Date("2025-01-15T12:00:00Z");
  const after = (minutes: number) => new Date(now.getTime() + minutes * 60_000);
  assert.equal(timeLeft(after(72 * 60), now), "in 3 days");
  assert.equal(timeLeft(after(47 * 60 + 59), now), "in 47 hours");
  assert.equal(timeLeft(after(60), now), "in 60 minutes");
  assert.equal(timeLeft(after(1), now), "in 1 minute");
  assert.equal(timeLeft(after(0), now), "in less than a minute");
  assert.equal(timeLeft(null, now), "");
});

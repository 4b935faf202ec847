import assert from "node:assert/strict";
import { test } from "node:test";
import { compiledOnce } from "./compiled.ts";
import { openStore } from "./database.ts";

test("a query compiled once runs with each call's values, wherever its slots fall", async () => {
  const store = await openStore({ memory: true });
  try {
    const pair = compiledOnce(2, (queryable, first, second) =>
      queryable.selectNoFrom((eb) => [eb.val(first).as("a"), eb.val(second).as("b"), eb.val(first).as("c")]),
    );
    assert.deepEqual((await pair(store.db, "x", "y")).rows, [{ a: "x", b: "y", c: "x" }]);
    assert.deepEqual((await pair(store.db, "p", null)).rows, [{ a: "p", b: null, c: "p" }]);
  } finally {
    await store.close();
  }
});

test("a query with an edition is compiled again when its edition changes", async () => {
  const store = await openStore({ memory: true });
  try {
    let day = "2026-12-03";
    const dated = compiledOnce(
      1,
      (queryable, value) => queryable.selectNoFrom((eb) => [eb.val(value).as("a"), eb.val(day).as("day")]),
      () => day,
    );
    assert.deepEqual((await dated(store.db, "x")).rows, [{ a: "x", day: "2026-12-03" }]);
    day = "2026-12-04";
    assert.deepEqual((await dated(store.db, "y")).rows, [{ a: "y", day: "2026-12-04" }]);
  } finally {
    await store.close();
  }
});

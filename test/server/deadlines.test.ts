// One timer for every pending prediction of a dataplane: each expires at its own deadline, settled ones never do.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { Deadlines } from "../../src/dataplane/deadlines.js";

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("Deadlines", () => {
  it("expires what is still pending at its deadline, in order, and nothing that settled", async () => {
    const d = new Deadlines(40, () => new Error("too slow"));
    const expired: string[] = [];
    const a = d.add(performance.now(), (err) => expired.push(`a: ${err.message}`));
    const b = d.add(performance.now(), (err) => expired.push(`b: ${err.message}`));
    await wait(10);
    const c = d.add(performance.now(), (err) => expired.push(`c: ${err.message}`));
    assert.equal(d.settle(b), true, "b was pending");
    await until(() => expired.length === 2);
    assert.deepEqual(expired, ["a: too slow", "c: too slow"]);
    assert.equal(d.settle(a), false, "a had expired");
    assert.equal(d.settle(c), false, "c had expired");
  });

  it("keeps working after the list ran empty, and a settled entry settles once", async () => {
    const d = new Deadlines(20, () => new Error("late"));
    const first = d.add(performance.now(), () => assert.fail("settled in time"));
    assert.equal(d.settle(first), true);
    assert.equal(d.settle(first), false);
    let expired = 0;
    d.add(performance.now(), () => expired++);
    await until(() => expired === 1);
    // Entries added after the timer fired with nothing left get a timer of their own.
    d.add(performance.now(), () => expired++);
    await until(() => expired === 2);
  });
});

describe("Deadlines and the process", () => {
  it("lets a process exit once nothing is pending, long before the timer would fire", async () => {
    const module = fileURLToPath(new URL("../../src/dataplane/deadlines.ts", import.meta.url));
    const script = `
      const { Deadlines } = await import(${JSON.stringify(module)});
      const d = new Deadlines(600000, () => new Error("late"));
      const e = d.add(performance.now(), () => { throw new Error("expired"); });
      await new Promise((r) => setTimeout(r, 5));
      if (!d.settle(e)) throw new Error("not pending");
    `;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    // A timer still holding the process would keep it for 10 minutes; give up well before that.
    const guard = setTimeout(() => child.kill("SIGKILL"), 60_000);
    const [code, signal] = await once(child, "exit");
    clearTimeout(guard);
    assert.equal(signal, null, "the process had to be killed: the idle timer held it open");
    assert.equal(code, 0, err);
  });
});

async function until(cond: () => boolean): Promise<void> {
  // Bounded so a broken timer fails the test instead of hanging it; not a timing assertion.
  for (let i = 0; i < 500 && !cond(); i++) await wait(10);
  assert.ok(cond(), "the expected expiries did not happen");
}

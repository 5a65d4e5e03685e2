// runCommand: what every helper program omaf runs (python, pip, conda, container engines, npm) goes through.
import assert from "node:assert/strict";
import { test } from "node:test";
import { isNotRunnable, OUTPUT_KEPT, runCommand } from "../src/run-command.js";

const node = (script: string) => [process.execPath, ["-e", script]] as const;

test("collects stdout, stderr and both in order, passes chunks on, and resolves with the exit code", async () => {
  const chunks: string[] = [];
  const r = await runCommand(...node("process.stdout.write('out'); process.stderr.write('err'); process.exitCode = 3"), { onOutput: (c) => chunks.push(c) });
  assert.equal(r.code, 3);
  assert.equal(r.stdout, "out");
  assert.equal(r.stderr, "err");
  assert.equal([...r.output].sort().join(""), [..."outerr"].sort().join(""));
  assert.equal(chunks.join("").length, 6);
  assert.equal(r.timedOut, false);
});

test("writes the input to stdin and closes it; without input stdin is empty", async () => {
  const echo = node("let s = ''; process.stdin.on('data', (d) => (s += d)).on('end', () => process.stdout.write('[' + s + ']'))");
  assert.equal((await runCommand(...echo, { input: "hello" })).stdout, "[hello]");
  assert.equal((await runCommand(...echo)).stdout, "[]");
  // A program that never reads its input still answers.
  assert.equal((await runCommand(...node("process.exitCode = 0"), { input: "x".repeat(1 << 20) })).code, 0);
});

test("keeps only the end of a long output", async () => {
  const r = await runCommand(...node(`process.stdout.write("a".repeat(${OUTPUT_KEPT * 3}) + "END")`));
  assert.equal(r.code, 0);
  assert.equal(r.stdout.length, OUTPUT_KEPT);
  assert.ok(r.stdout.endsWith("END"));
});

test("kills a program past its time limit, and stops one when aborted", async () => {
  const slow = node("setTimeout(() => {}, 60000)");
  const timed = await runCommand(...slow, { timeoutMs: 200 });
  assert.equal(timed.timedOut, true);
  assert.equal(timed.code, null);
  const abort = new AbortController();
  setTimeout(() => abort.abort(), 200);
  const aborted = await runCommand(...slow, { signal: abort.signal });
  assert.equal(aborted.code, null);
  assert.equal(aborted.signal, "SIGTERM");
  assert.equal(aborted.timedOut, false);
});

test("rejects when the program cannot be started, with Node's error code", async () => {
  await assert.rejects(runCommand("omaf-no-such-program-here", []), (err) => isNotRunnable(err) && err.code === "ENOENT");
});

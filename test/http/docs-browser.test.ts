// The docs page in a real browser: headless Chromium (Debian's `chromium`, driven by playwright-core) opens /v2/docs of a
// real `omaf serve` of two models, expands a model's inference operation, presses "Try it out" and "Execute" with the
// prefilled example, and finds the answer and its provenance (the `parameters` and the x-omaf-* headers) on the page —
// over OIP v2 for the ONNX example and KServe v1 for the objects example; then one model's own page. The browser may
// reach 127.0.0.1 only: every other request is refused and fails the test (Swagger UI's files come from this server).
// Skipped, saying how to install it, where Chromium is not installed.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium, type Locator, type Page } from "playwright-core";
import { tempDir } from "../helpers/fixtures.js";
import { startServe, type ServeProcess } from "../helpers/serve.js";
import { http } from "./helpers.js";

const CHROMIUM = process.env.OMAF_TEST_CHROMIUM || "/usr/bin/chromium";
const SKIP = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}: install it (apt-get install chromium) or name it in OMAF_TEST_CHROMIUM`;
const EXAMPLES = fileURLToPath(new URL("../../examples/", import.meta.url));

/** Chromium without any traffic of its own (updates, sync, safe browsing, first-run pages). */
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

type Json = Record<string, any>;

describe("the docs page in headless Chromium", { skip: SKIP }, () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let server: ServeProcess;
  let browser: BrowserContext;
  let page: Page;
  let base: string;
  let doc: Json;
  /** Requests the page tried to send anywhere but this server. */
  const outside: string[] = [];
  const pageErrors: string[] = [];

  before(async () => {
    tmp = await tempDir("omaf-docs-browser-");
    server = await startServe([join(EXAMPLES, "iris-onnx"), join(EXAMPLES, "node-objects")], {
      args: ["--interfaces", "oip-rest,kserve-v1", "--node-in-process", "--no-inference-log"],
    });
    base = server.url("OIP v2 REST");
    doc = (await http(`${base}/v2/docs/openapi.json`)).json as Json;
    browser = await chromium.launchPersistentContext(join(tmp.dir, "profile"), { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    page = browser.pages()[0] ?? (await browser.newPage());
    await page.route("**/*", (route) => {
      const url = new URL(route.request().url());
      if (url.hostname === "127.0.0.1") return route.continue();
      outside.push(url.href);
      return route.abort();
    });
    page.on("pageerror", (err) => pageErrors.push(err.message));
  });
  after(async () => {
    await browser?.close();
    await server?.kill();
    await tmp?.cleanup();
  });

  /** The operation block of `path`, expanded, with "Try it out" pressed; answers it and the body it prefilled. */
  async function tryOperation(path: string): Promise<{ op: Locator; body: unknown }> {
    const op = page.locator(".opblock", { has: page.locator(`.opblock-summary-path[data-path="${path}"]`) });
    await op.locator(".opblock-summary").first().click();
    await op.getByRole("button", { name: "Try it out" }).click();
    const body = JSON.parse(await op.locator("textarea.body-param__text").inputValue());
    return { op, body };
  }

  /** Presses "Execute"; answers the live answer's status, body text and headers text. */
  async function execute(op: Locator): Promise<{ status: string; body: string; headers: string }> {
    await op.getByRole("button", { name: "Execute" }).click();
    const row = op.locator(".live-responses-table tbody tr.response").first();
    await row.locator(".response-col_status").waitFor();
    const section = (title: string) => row.locator(".response-col_description > div", { has: page.locator("h5", { hasText: title }) }).locator("pre");
    return {
      status: ((await row.locator(".response-col_status").textContent()) ?? "").trim(),
      body: (await section("Response body").textContent()) ?? "",
      headers: (await section("Response headers").textContent()) ?? "",
    };
  }

  it("renders every model's operations from this server's files alone", async () => {
    await page.goto(`${base}/v2/docs`);
    await page.locator(".opblock").first().waitFor();
    const tags = await page.locator(".opblock-tag").allInnerTexts();
    for (const name of ["iris-onnx", "sentiment-objects", "server (OIP v2)", "server (KServe v1)"]) {
      assert.ok(
        tags.some((t) => t.startsWith(name)),
        `tag ${name} among ${tags.join(" | ")}`,
      );
    }
    assert.equal(await page.title(), "omaf");
  });

  it("sends the prefilled OIP v2 example of the ONNX model and shows the answer with its provenance", async () => {
    const { op, body } = await tryOperation("/v2/models/iris-onnx/infer");
    assert.deepEqual(body, doc.paths["/v2/models/iris-onnx/infer"].post.requestBody.content["application/json"].example);
    const answer = await execute(op);
    assert.equal(answer.status, "200", answer.body);
    const shown = JSON.parse(answer.body) as Json;
    const digest = shown.parameters.artifact_digest as string;
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(
      { model_name: shown.model_name, model_version: shown.model_version, parameters: shown.parameters },
      { model_name: "iris-onnx", model_version: "1.0.0-1", parameters: { model_name: "iris-onnx", model_version: "1.0.0-1", artifact_digest: digest } },
    );
    assert.deepEqual(
      shown.outputs.map((o: Json) => o.name),
      ["probabilities", "label"],
    );
    // The same request answered outside the browser: the same outputs.
    const direct = (await http(`${base}/v2/models/iris-onnx/infer`, { body })).json as Json;
    assert.deepEqual(shown.outputs, direct.outputs);
    for (const line of ["x-omaf-model: iris-onnx", "x-omaf-model-version: 1.0.0-1", `x-omaf-artifact-digest: ${digest}`])
      assert.ok(answer.headers.includes(line), `${line} among the headers shown:\n${answer.headers}`);
  });

  it("sends the prefilled KServe v1 example of the objects model", async () => {
    const { op, body } = await tryOperation("/v1/models/sentiment-objects:predict");
    assert.deepEqual(body, { instances: [{ text: "great product, fast delivery" }] });
    const answer = await execute(op);
    assert.equal(answer.status, "200", answer.body);
    assert.deepEqual(JSON.parse(answer.body), { predictions: [{ label: "positive", score: 2, positive: 2, negative: 0 }] });
    assert.ok(answer.headers.includes("x-omaf-model: sentiment-objects"), answer.headers);
  });

  it("one model's page shows that model's operations only", async () => {
    await page.goto(`${base}/v2/models/sentiment-objects/docs`);
    await page.locator(".opblock").first().waitFor();
    const paths = await page.locator(".opblock-summary-path").evaluateAll((els) => els.map((e) => e.getAttribute("data-path")));
    assert.ok(paths.length > 0 && paths.every((p) => p?.includes("sentiment-objects")), paths.join(", "));
    assert.equal(await page.title(), "omaf: sentiment-objects");
  });

  it("the browser asked nothing of any other host, and the page raised no error", () => {
    assert.deepEqual(outside, []);
    assert.deepEqual(pageErrors, []);
  });
});

// A prediction slower than --request-timeout-ms answers 504 over OIP REST and DEADLINE_EXCEEDED over OIP gRPC, and
// the server keeps serving (an objects model that sleeps on request).
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { status as Status, type ServiceError } from "@grpc/grpc-js";
import { tempDir } from "../helpers/fixtures.js";
import { oipGrpcClient, postBytes } from "../helpers/oip-client.js";
import { writeBehaveModel } from "../helpers/serve.js";
import { startConformanceServer, type ConformanceServer } from "../conformance/harness.js";
import { grpcAddress, restBase } from "./fixtures.js";

const doc = (value: unknown) => ({ inputs: [{ name: "input", shape: [1], datatype: "BYTES", data: [JSON.stringify(value)] }] });

describe("OIP v2 timeouts", () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let server: ConformanceServer;

  before(async () => {
    tmp = await tempDir("omaf-oip-timeout-");
    server = await startConformanceServer(await writeBehaveModel(join(tmp.dir, "behave")), {
      interfaces: ["oip-rest", "oip-grpc"],
      args: ["--request-timeout-ms", "300"],
    });
  });
  after(async () => {
    await server?.stop();
    await tmp?.cleanup();
  });

  it("answers 504 over REST, then serves the next request", async () => {
    const url = `${restBase(server)}/v2/models/behave/infer`;
    const slow = await postBytes(url, Buffer.from(JSON.stringify(doc({ sleepMs: 2000 }))));
    assert.equal(slow.status, 504, slow.body.toString());
    assert.equal(JSON.parse(slow.body.toString("utf8")).code, "OMAF_ERR_TIMEOUT");
    const fast = await postBytes(url, Buffer.from(JSON.stringify(doc({ hello: 1 }))));
    assert.equal(fast.status, 200);
    assert.deepEqual(JSON.parse(JSON.parse(fast.body.toString("utf8")).outputs[0].data[0]), { echo: { hello: 1 } });
  });

  it("answers DEADLINE_EXCEEDED over gRPC", async () => {
    const client = oipGrpcClient(grpcAddress(server));
    try {
      const request = (value: unknown) => ({
        model_name: "behave",
        inputs: [{ name: "input", datatype: "BYTES", shape: [1], contents: { bytes_contents: [Buffer.from(JSON.stringify(value))] } }],
      });
      await assert.rejects(client.ModelInfer(request({ hang: true })), (err: ServiceError) => {
        assert.equal(err.code, Status.DEADLINE_EXCEEDED, err.details);
        assert.match(err.details, /^OMAF_ERR_TIMEOUT: /);
        return true;
      });
      const ok = await client.ModelInfer(request({ n: 2 }));
      assert.deepEqual(JSON.parse(Buffer.from(ok.outputs[0].contents!.bytes_contents![0]).toString()), { echo: { n: 2 } });
    } finally {
      client.close();
    }
  });
});

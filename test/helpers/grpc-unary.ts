// What the gRPC test clients share: promise-returning unary calls and unlimited message sizes.
import * as grpc from "@grpc/grpc-js";

/** A unary call as a promise. */
export type Unary<Req, Res> = (req: Req, metadata?: grpc.Metadata) => Promise<Res>;

/** Test clients accept messages of any size; the server's own limits are what tests exercise. */
export const CLIENT_OPTIONS: grpc.ChannelOptions = {
  "grpc.max_receive_message_length": -1,
  "grpc.max_send_message_length": -1,
};

/** The unary `method` of a generic grpc-js client as a promise-returning function. */
export function promisify<Req, Res>(client: grpc.Client, method: string): Unary<Req, Res> {
  const fn = (client as unknown as Record<string, (...args: unknown[]) => unknown>)[method].bind(client);
  return (req, metadata = new grpc.Metadata()) =>
    new Promise<Res>((resolve, reject) => fn(req, metadata, (err: grpc.ServiceError | null, res: Res) => (err ? reject(err) : resolve(res))));
}

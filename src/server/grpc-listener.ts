// One gRPC server on one port: the protocol services plus the standard health service and server reflection.
//
// Connections are accepted by our own TCP server, so that a socket which says nothing at all — not even the HTTP/2
// preface, or an answer to the keepalive pings — is closed after a while instead of being held forever. Each is
// handed to the unary front (grpc-front.ts), which answers the services' unary calls itself and passes every other
// stream (health, reflection, unknown methods) to grpc-js through grpc-js's connection injector. The front pings live
// connections (keepalive) and closes, with GOAWAY, a connection that carried no call for the idle timeout; clients
// reconnect on their next call.
import { createServer, type Server as TcpServer, type Socket } from "node:net";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { HealthImplementation, protoPath as healthProtoPath, type ServingStatus } from "grpc-health-check";
import { OmafError } from "../errors.js";
import { UnaryFront } from "./grpc-front.js";
import { formatHostPort, type Listener } from "./listener.js";

export interface GrpcServiceEntry {
  /** Full service name, as health checks name it (e.g. `ModzyModel`). */
  name: string;
  definition: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation;
  /** The package definition the service came from (for reflection). */
  packageDefinition: protoLoader.PackageDefinition;
}

export interface GrpcListenerOptions {
  /** Listener name for messages, e.g. `OMI gRPC`. */
  label: string;
  interfaceName: Listener["interfaceName"];
  host: string;
  port: number;
  maxMessageBytes: number;
  /** How often an idle connection is pinged; a peer silent for this plus KEEPALIVE_TIMEOUT_MS is dropped. */
  keepaliveMs: number;
  /** A connection without any call for this long is closed (GOAWAY). */
  idleTimeoutMs: number;
  services: GrpcServiceEntry[];
}

/** How long a keepalive ping may go unanswered before the connection is dropped. */
export const KEEPALIVE_TIMEOUT_MS = 10_000;

/** A gRPC listener whose health answers follow `setServing`. */
export interface GrpcListener extends Listener {
  setServing(serving: boolean): void;
}

let healthPackage: protoLoader.PackageDefinition | undefined;

/** Binds and starts a gRPC server; rejects with OMAF_ERR_IO when the address cannot be bound. */
export async function startGrpcListener(opts: GrpcListenerOptions): Promise<GrpcListener> {
  // grpc-js's only connection is the front's in-memory one: keepalive pings and the idle timeout are the front's, on
  // the clients' connections, and are not set here.
  const server = new grpc.Server({
    "grpc.max_receive_message_length": opts.maxMessageBytes,
    "grpc.max_send_message_length": opts.maxMessageBytes,
    // Channelz bookkeeping costs per call and nothing here reads it.
    "grpc.enable_channelz": 0,
  });
  for (const s of opts.services) server.addService(s.definition, s.implementation);

  // Health: the overall status ("") and each service start NOT_SERVING until the model is loaded.
  const names = ["", ...opts.services.map((s) => s.name)];
  const health = new HealthImplementation(Object.fromEntries(names.map((n) => [n, "NOT_SERVING" as ServingStatus])));
  health.addToServer(server);

  healthPackage ??= protoLoader.loadSync(healthProtoPath, { keepCase: true });
  const reflectionPackage: protoLoader.PackageDefinition = Object.assign({}, healthPackage, ...opts.services.map((s) => s.packageDefinition));
  const reflection = new ReflectionService(reflectionPackage);
  dropLeadingDots(reflection);
  reflection.addToServer(server);

  const address = formatHostPort(opts.host, opts.port);
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const front = new UnaryFront({
    services: opts.services,
    maxMessageBytes: opts.maxMessageBytes,
    keepaliveMs: opts.keepaliveMs,
    keepaliveTimeoutMs: KEEPALIVE_TIMEOUT_MS,
    idleTimeoutMs: opts.idleTimeoutMs,
    fallback: injector,
  });
  // A peer that has not sent a byte by then never will: close it. One that spoke HTTP/2 has a session, whose keepalive
  // pings (answered, or the connection dropped after KEEPALIVE_TIMEOUT_MS) and idle timeout take over — the socket's
  // own timer must stop then, since HTTP/2 reads the socket natively and its traffic would not reset the timer.
  const silentMs = opts.keepaliveMs + KEEPALIVE_TIMEOUT_MS;
  const tcp: TcpServer = createServer((socket: Socket) => {
    socket.setTimeout(silentMs, () => {
      if (socket.bytesRead === 0) socket.destroy();
      else socket.setTimeout(0);
    });
    front.accept(socket);
  });
  const port = await new Promise<number>((resolve, reject) => {
    tcp.once("error", (err) =>
      reject(new OmafError("OMAF_ERR_IO", `cannot listen on ${address} for ${opts.label}: ${err.message}`, { address }, { cause: err })),
    );
    tcp.listen({ host: opts.host, port: opts.port }, () => resolve((tcp.address() as { port: number }).port));
  });

  let closing: Promise<void> | undefined;
  return {
    interfaceName: opts.interfaceName,
    interfaces: [opts.interfaceName],
    label: opts.label,
    host: opts.host,
    port,
    setServing(serving) {
      for (const n of names) health.setStatus(n, serving ? "SERVING" : "NOT_SERVING");
    },
    close() {
      tcp.close();
      closing ??= front.close().then(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())));
      return closing;
    },
    forceClose() {
      tcp.close();
      front.destroy();
      server.forceShutdown();
    },
  };
}

/**
 * @grpc/reflection 1.0 names services and symbols of package-less files with a leading dot (".ModzyModel"), so
 * `grpcurl list` shows ".ModzyModel" and `grpcurl describe ModzyModel` finds nothing. Index them by their real
 * full names too. Works on the library's per-version indexes; if their shape changes this does nothing.
 */
function dropLeadingDots(reflection: ReflectionService): void {
  for (const impl of Object.values(reflection as unknown as Record<string, unknown>)) {
    if (!impl || typeof impl !== "object") continue;
    const { services, symbols } = impl as { services?: Record<string, unknown>; symbols?: Record<string, unknown> };
    if (services && typeof services === "object") {
      for (const key of Object.keys(services)) {
        if (key.startsWith(".")) {
          services[key.slice(1)] = services[key];
          delete services[key];
        }
      }
    }
    if (symbols && typeof symbols === "object") {
      for (const key of Object.keys(symbols)) if (key.startsWith(".") && !(key.slice(1) in symbols)) symbols[key.slice(1)] = symbols[key];
    }
  }
}

// What the server needs from any listener: a gRPC server, or one HTTP port shared by several protocols.
import type { InterfaceName } from "../settings.js";

/** What a listener serves: protocols, or the health port. */
export type ListenerKind = InterfaceName | "health";

export interface Listener {
  /** The protocol it serves (the first one, when an HTTP port serves several). */
  interfaceName: ListenerKind;
  /** Every protocol it serves. */
  interfaces: ListenerKind[];
  /** Human name, e.g. `OMI gRPC` or `OIP v2 REST + KServe v1`. */
  label: string;
  host: string;
  /** The bound port (the real one when 0 was asked for). */
  port: number;
  /** Follows the model's readiness (health services, readiness endpoints). */
  setServing(serving: boolean): void;
  /** Stops accepting; resolves once in-flight calls finished and the port is closed. */
  close(): Promise<void>;
  /** Cuts whatever is still running. */
  forceClose(): void;
}

/** `host:port`, bracketing IPv6 literals. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}

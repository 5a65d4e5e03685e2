// What the server needs from any listener (gRPC today; HTTP listeners for other protocols fit the same shape).
import type { InterfaceName } from "../settings.js";

export interface Listener {
  /** The protocol it serves. */
  interfaceName: InterfaceName;
  /** Human name, e.g. `OMI gRPC`. */
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

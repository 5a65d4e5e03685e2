// The served models, by name and version: one DataPlane — its own Model, so python and java models get their own
// worker processes — per model version. Protocols look the model of each request up here and never hold a dataplane.
//
// A model comes from a source (an archive or a model folder) that the server's OpenModel reads: given on the command
// line, or found in a model repository folder (repository.ts). The registry loads and unloads them (the OIP
// repository extension), polls the repository when asked to (new entries load, removed ones unload, changed ones
// reload), and answers readiness for the whole server. Operations on one source run one at a time; different
// sources load side by side, and requests to other models never wait for either.
//
// Versions (versions.ts): a request without a version goes to the highest version the server serves — one not
// unloaded — or, when every version is unloaded, to the highest, which answers that it is unloaded.
// Readiness (as Triton's strict readiness): the server is ready when every model version it serves (all it was
// given or found, less those unloaded through the repository API) is loaded, and it is not stopping.
import { resolve } from "node:path";
import type { Logger } from "pino";
import { runPool } from "../archive/stream-util.js";
import { type DataPlane, type DataPlaneMetrics, type RequestContext, reportRejection, type ServedArtifact } from "../dataplane/dataplane.js";
import type { RequestTracer } from "../dataplane/tracing.js";
import { OmafError, toOmafError } from "../errors.js";
import { entryName, scanRepository } from "./repository.js";
import { compareVersions } from "./versions.js";

/** A model version's state, as the repository index reports it (Triton's names). */
export type ModelState = "READY" | "LOADING" | "UNLOADING" | "UNAVAILABLE";

/** An opened source: the artifact it holds, and how to make a fresh dataplane (a new Model, new workers) for it. */
export interface OpenedModel {
  artifact: ServedArtifact;
  createDataPlane(): DataPlane;
}

/** Reads a source (archive or model folder) as the server serves it; rejects with an OmafError. */
export type OpenModel = (source: string) => Promise<OpenedModel>;

/**
 * Sources opened side by side at start-up: unpacking is CPU and disk work with bounded buffers, so two at a time keep
 * two cores busy while peak memory grows by one more unpack's buffers, not one per source.
 */
const OPEN_AT_ONCE = 2;

/** A model as a setting names it: a name, and a version (none: the highest served). */
export interface ModelChoice {
  name: string;
  version?: string;
}

/** `name` or `name:version` (a manifest name has no colon) as a ModelChoice. */
export function parseModelChoice(text: string): ModelChoice {
  const colon = text.indexOf(":");
  if (colon < 0) return { name: text.trim() };
  const version = text.slice(colon + 1).trim();
  return { name: text.slice(0, colon).trim(), ...(version ? { version } : {}) };
}

/** One row of the repository index. */
export interface IndexEntry {
  name: string;
  /** Empty for a source that could not be read (its name is then the file or folder name). */
  version: string;
  state: ModelState;
  /** Why it is not READY (empty when it is). */
  reason: string;
}

export interface RegistryOptions {
  /** Reads sources; without it the registry serves the dataplanes it was given and cannot load anything again. */
  open?: OpenModel;
  /** The model repository folder, when there is one. */
  repository?: string;
  /** Leave models unloaded until their first request (at start and when the watch finds them). */
  lazy?: boolean;
  /** How long an unload waits for a model's in-flight requests before closing it anyway. */
  unloadTimeoutMs?: number;
  /** Lifecycle lines, and the inference-log line of a request no served model answered. */
  log?: Logger;
  /** Where a request no served model answered is counted. */
  metrics?: DataPlaneMetrics;
  /** Where a request no served model answered is traced (each dataplane has its own tracer too). */
  tracer?: RequestTracer;
}

/** One model version the registry knows: served, unloaded, or a source that could not be read. */
export class ModelEntry {
  /** The operator unloaded it (or it was found but never asked for): not served, not needed for readiness. */
  unloaded = false;
  /** An unload is draining it. */
  unloading = false;

  constructor(
    readonly name: string,
    readonly version: string,
    readonly source: string,
    /** Undefined for a source that could not be read. */
    readonly opened: OpenedModel | undefined,
    /** The current dataplane; undefined while unloaded or when the source could not be read. */
    public dataplane: DataPlane | undefined,
    /** Why a source without a dataplane cannot serve. */
    readonly problem?: OmafError,
  ) {}

  get state(): ModelState {
    if (this.unloading) return "UNLOADING";
    const state = this.dataplane?.state;
    if (state === "ready") return "READY";
    if (state === "loading") return "LOADING";
    return "UNAVAILABLE";
  }

  get reason(): string {
    if (this.unloading) return "unloading: in-flight requests are finishing";
    const dp = this.dataplane;
    if (!dp) return this.problem ? `${this.problem.code}: ${this.problem.message}` : "unloaded";
    switch (dp.state) {
      case "ready":
      case "loading":
        return "";
      case "unloaded":
        return "not loaded yet (--lazy): the first request loads it";
      case "failed":
        return dp.loadError ? `${dp.loadError.code}: ${dp.loadError.message}` : "the load failed";
      default:
        return "the server is shutting down";
    }
  }

  /** Served: counted for readiness and chosen for requests without a version. */
  get served(): boolean {
    return !this.unloaded && !this.unloading && this.opened !== undefined;
  }

  /** What a request for this entry answers when it has no dataplane. */
  notReady(): OmafError {
    const what = `model '${this.name}'${this.version ? ` version '${this.version}'` : ""}`;
    if (this.problem) return new OmafError("OMAF_ERR_MODEL_NOT_READY", `${what} cannot be served: ${this.problem.code}: ${this.problem.message}`);
    return new OmafError("OMAF_ERR_MODEL_NOT_READY", `${what} is unloaded; POST /v2/repository/models/${this.name}/load loads it`, {
      model: this.name,
    });
  }
}

export class ModelRegistry {
  /** Each name's entries, highest version first. */
  private readonly byName = new Map<string, ModelEntry[]>();
  private readonly bySource = new Map<string, ModelEntry>();
  /** The entry, when there is exactly one (read on every HTTP response of a one-model server). */
  private single?: ModelEntry;
  /** The last repository scan: entry path → signature. */
  private signatures = new Map<string, string>();
  /** Per source: the operation in progress (operations on one source run one after another). */
  private readonly busy = new Map<string, Promise<unknown>>();
  /** Dataplanes replaced by a reload, still draining. */
  private readonly retiring = new Set<Promise<void>>();
  private readonly listeners = new Set<() => void>();
  private readonly logged = new WeakSet<object>();
  private stopping = false;
  private watchTimer?: NodeJS.Timeout;

  constructor(private readonly opts: RegistryOptions = {}) {}

  /** A registry serving these dataplanes (embedding and tests): nothing can be loaded again once unloaded. */
  static fromDataPlanes(dataplanes: readonly DataPlane[], opts: Omit<RegistryOptions, "open" | "repository"> = {}): ModelRegistry {
    const registry = new ModelRegistry(opts);
    for (const dp of dataplanes) {
      const { modelName, modelVersion } = dp.provenance;
      registry.checkUnique(modelName, modelVersion, dp.artifact.source);
      registry.put(
        new ModelEntry(modelName, modelVersion, dp.artifact.source, { artifact: dp.artifact, createDataPlane: () => cannotReload(dp) }, registry.track(dp)),
      );
    }
    return registry;
  }

  // ── start-up ──────────────────────────────────────────────────────────────────────────────────────────────────

  /**
   * Opens the sources given on the command line (a failure is thrown: the server does not start) and every entry of
   * the model repository (a failure becomes an UNAVAILABLE entry with its reason), and makes each one's dataplane
   * without loading it. Two sources with the same model name and version are OMAF_ERR_MODEL_DUPLICATE.
   */
  async start(sources: readonly string[]): Promise<void> {
    // Sources are known by their absolute paths, so one given and also found in the repository is one source.
    const given = sources.map((s) => resolve(s));
    for (const [i, opened] of (await this.openAll(given)).entries()) {
      if (opened instanceof OmafError) throw opened;
      this.put(this.served(given[i], opened));
    }
    if (this.opts.repository) {
      this.signatures = await scanRepository(resolve(this.opts.repository));
      const found = [...this.signatures.keys()].filter((source) => !this.bySource.has(source));
      for (const [i, opened] of (await this.openAll(found)).entries()) {
        const source = found[i];
        if (opened instanceof OmafError) {
          this.log?.error({ source, code: opened.code, err: opened.message }, "model source cannot be read");
          this.put(new ModelEntry(entryName(source), "", source, undefined, undefined, opened));
        } else this.put(this.served(source, opened));
      }
    }
  }

  /** Loads every served model side by side (unless lazy); failures stay in their entries (index, readiness). */
  async loadAll(): Promise<void> {
    if (this.opts.lazy) return;
    await Promise.all([...this.bySource.values()].map((e) => (e.served && e.dataplane ? e.dataplane.load().catch(() => undefined) : undefined)));
  }

  // ── lookups (per request) ─────────────────────────────────────────────────────────────────────────────────────

  /**
   * The dataplane a request for `name` (and `version`, when given and non-empty) goes to. OMAF_ERR_MODEL_NOT_FOUND
   * for a name or version the server does not know; OMAF_ERR_MODEL_NOT_READY for one unloaded or unreadable.
   */
  resolve(name: string, version?: string): DataPlane {
    const entry = this.entry(name, version);
    if (entry.dataplane) return entry.dataplane;
    throw entry.notReady();
  }

  /** The entry a request for `name` (and `version`) means; throws OMAF_ERR_MODEL_NOT_FOUND for an unknown one. */
  entry(name: string, version?: string): ModelEntry {
    const list = this.byName.get(name);
    if (!list) throw this.unknownModel(name);
    if (!version) {
      // Per request: a loop, not a callback.
      for (const e of list) if (e.served) return e;
      return list[0];
    }
    for (const e of list) if (e.version === version) return e;
    const versions = list.filter((e) => e.version !== "").map((e) => `'${e.version}'`);
    throw new OmafError("OMAF_ERR_MODEL_NOT_FOUND", `model '${name}' has no version '${version}'; it has version ${versions.join(", ") || "none"}`, {
      model: name,
      version,
    });
  }

  /** The entry of exactly this name and version, if known. */
  find(name: string, version: string): ModelEntry | undefined {
    return this.byName.get(name)?.find((e) => e.version === version);
  }

  /** Every entry: by name, then highest version first. */
  entries(): ModelEntry[] {
    return [...this.byName.keys()].sort().flatMap((name) => this.byName.get(name)!);
  }

  /** Names of the models served (at least one version not unloaded), sorted. */
  names(): string[] {
    return [...this.byName.keys()].filter((name) => this.byName.get(name)!.some((e) => !e.unloaded)).sort();
  }

  /** The versions of `name` served, highest first. */
  versionsOf(name: string): string[] {
    return (this.byName.get(name) ?? []).filter((e) => e.served).map((e) => e.version);
  }

  /** Every current dataplane (metrics gauges, statistics). */
  *dataplanes(): IterableIterator<DataPlane> {
    for (const e of this.entries()) if (e.dataplane) yield e.dataplane;
  }

  /** The dataplane of the only model version, when the server knows exactly one (its single-model answers). */
  get only(): DataPlane | undefined {
    return this.single?.dataplane;
  }

  // ── readiness ─────────────────────────────────────────────────────────────────────────────────────────────────

  /** Every served model version is loaded and the server is not stopping. Reading it starts nothing. */
  get ready(): boolean {
    if (this.stopping) return false;
    for (const e of this.bySource.values()) if (!e.unloaded && !e.unloading && !e.dataplane?.ready) return false;
    return true;
  }

  /** Readiness as a probe asks it: starts a lazy model's first load (never waits for it), then answers `ready`. */
  probeReady(): boolean {
    for (const e of this.bySource.values()) if (e.served) e.dataplane?.probeReady();
    return this.ready;
  }

  /**
   * One word for /readyz: a one-model server's dataplane state; else `draining` once a stop began, `ready`, or why
   * not — `failed` (a load failed or a source cannot be read), `loading`, or `unloaded` (lazy, not loaded yet).
   */
  get state(): string {
    const only = this.only;
    if (only) return only.state;
    if (this.stopping) return "draining";
    if (this.ready) return "ready";
    const states = new Set<string>([...this.bySource.values()].filter((e) => !e.unloaded && !e.unloading).map((e) => e.dataplane?.state ?? "failed"));
    return ["failed", "loading", "unloaded"].find((s) => states.has(s)) ?? "unloaded";
  }

  /** True once a stop began. */
  get isStopping(): boolean {
    return this.stopping;
  }

  /** Called whenever a model is added, removed, unloaded, or changes state; returns an unsubscribe function. */
  onStateChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ── the repository extension ──────────────────────────────────────────────────────────────────────────────────

  /** The repository index; `readyOnly` keeps the READY entries only (Triton's `{"ready": true}`). */
  index(readyOnly = false): IndexEntry[] {
    const rows = this.entries().map((e) => ({ name: e.name, version: e.version, state: e.state, reason: e.reason }));
    return readyOnly ? rows.filter((r) => r.state === "READY") : rows;
  }

  /**
   * Loads every version of `name` (reads its source again: a changed artifact replaces the served one once it is
   * loaded). A model the repository holds but the server does not know yet is found first. Rejects with the load's
   * error; a model that stays unloadable is in the index with its reason.
   */
  async load(name: string): Promise<void> {
    this.checkRunning();
    if (!this.byName.has(name) && this.opts.repository) await this.rescan(false);
    const sources = (this.byName.get(name) ?? []).map((e) => e.source);
    if (sources.length === 0) throw this.unknownModel(name);
    const results = await Promise.allSettled(sources.map((source) => this.exclusive(source, () => this.install(source, true))));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw toOmafError(failed.reason);
  }

  /**
   * Unloads every version of `name`: new requests are refused, in-flight ones finish (up to the unload timeout),
   * then the model is closed (its workers exit). The entries stay in the index as UNAVAILABLE "unloaded".
   */
  async unload(name: string): Promise<void> {
    this.checkRunning();
    const entries = this.byName.get(name);
    if (!entries) throw this.unknownModel(name);
    await Promise.all(entries.map((e) => this.exclusive(e.source, () => this.unloadSource(e.source))));
  }

  /** Polls the model repository every `intervalMs`: new entries load, removed ones unload, changed ones reload. */
  watch(intervalMs: number): void {
    if (!this.opts.repository || intervalMs <= 0) return;
    const tick = () => {
      this.rescan(true)
        .catch((err: unknown) => this.log?.error({ err: toOmafError(err).message }, "model repository scan failed"))
        .finally(() => {
          if (!this.stopping) this.watchTimer = setTimeout(tick, intervalMs).unref();
        });
    };
    this.watchTimer = setTimeout(tick, intervalMs).unref();
  }

  // ── requests no model answered ────────────────────────────────────────────────────────────────────────────────

  /**
   * Logs and counts an inference request refused before any dataplane took it (see DataPlane.reportRejected): with
   * the model it addressed when known, else with the only model when there is one, else without a model.
   */
  reportRejected(ctx: RequestContext, err: unknown, dataplane: DataPlane | undefined = this.only): void {
    if (dataplane) {
      dataplane.reportRejected(ctx, err);
      return;
    }
    reportRejection({ logged: this.logged, metrics: this.opts.metrics, tracer: this.opts.tracer, log: this.log }, ctx, err);
  }

  // ── stopping ──────────────────────────────────────────────────────────────────────────────────────────────────

  /** Total requests admitted and not answered, over every model. */
  get inFlightCount(): number {
    let n = 0;
    for (const dp of this.dataplanes()) n += dp.inFlightCount;
    return n;
  }

  /** Stops the watch and every model's admission; resolves once every in-flight request is answered. */
  drain(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      clearTimeout(this.watchTimer);
      this.emit();
    }
    return Promise.all([...this.dataplanes()].map((dp) => dp.drain())).then(() => undefined);
  }

  /** Releases every model (their workers exit), once the loads and rescans under way have put theirs in place. */
  async close(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.watchTimer);
    await Promise.all(this.busy.values());
    await Promise.all([...[...this.dataplanes()].map((dp) => dp.close()), ...this.retiring]);
  }

  // ── internals ─────────────────────────────────────────────────────────────────────────────────────────────────

  private get log(): Logger | undefined {
    return this.opts.log;
  }

  /**
   * Opens `sources` a few at a time — unpacking and hashing artifacts is file and thread-pool work that overlaps well
   * — and answers, in the sources' order, each one opened or the error it failed with.
   */
  private async openAll(sources: readonly string[]): Promise<(OpenedModel | OmafError)[]> {
    const out: (OpenedModel | OmafError)[] = new Array(sources.length);
    await runPool([...sources.keys()], OPEN_AT_ONCE, undefined, async (i) => {
      out[i] = await this.openSource(sources[i]).catch((err: unknown) => toOmafError(err));
    });
    return out;
  }

  private openSource(source: string): Promise<OpenedModel> {
    if (!this.opts.open) return Promise.reject(new OmafError("OMAF_ERR_NOT_IMPLEMENTED", `${source} cannot be read again by this server`));
    return this.opts.open(source);
  }

  /** A served entry for an opened source, with a fresh dataplane (not loaded); duplicates are refused. */
  private served(source: string, opened: OpenedModel): ModelEntry {
    const { name, version } = opened.artifact.manifest.model;
    this.checkUnique(name, version, source);
    return new ModelEntry(name, version, source, opened, this.track(opened.createDataPlane()));
  }

  private checkUnique(name: string, version: string, source: string): void {
    const clash = this.find(name, version);
    if (clash && clash.source !== source) {
      throw new OmafError(
        "OMAF_ERR_MODEL_DUPLICATE",
        `${source} holds model '${name}' version '${version}', which ${clash.source} holds too; give each version once`,
        { model: name, version, sources: [clash.source, source] },
      );
    }
  }

  /** Tells the listeners of every state change of `dataplane`. */
  private track(dataplane: DataPlane): DataPlane {
    dataplane.onStateChange(() => this.emit());
    return dataplane;
  }

  /** Adds `entry`, or puts it in place of the entry its source had. */
  private put(entry: ModelEntry): void {
    this.remove(entry.source);
    this.bySource.set(entry.source, entry);
    const list = this.byName.get(entry.name) ?? [];
    list.push(entry);
    // Highest version first; an unreadable source (no version) last.
    list.sort((a, b) => (a.version === "" ? 1 : b.version === "" ? -1 : compareVersions(b.version, a.version)));
    this.byName.set(entry.name, list);
    this.single = this.bySource.size === 1 ? entry : undefined;
    this.emit();
  }

  private remove(source: string): ModelEntry | undefined {
    const old = this.bySource.get(source);
    if (!old) return undefined;
    this.bySource.delete(source);
    const list = this.byName.get(old.name)!.filter((e) => e !== old);
    if (list.length > 0) this.byName.set(old.name, list);
    else this.byName.delete(old.name);
    this.single = this.bySource.size === 1 ? this.bySource.values().next().value : undefined;
    this.emit();
    return old;
  }

  /** Runs `op` once the operation in progress on `source` (if any) has finished. */
  private exclusive<T>(source: string, op: () => Promise<T>): Promise<T> {
    const previous = this.busy.get(source) ?? Promise.resolve();
    const next = previous.then(op, op);
    const settled = next.catch(() => undefined);
    this.busy.set(source, settled);
    void settled.then(() => {
      if (this.busy.get(source) === settled) this.busy.delete(source);
    });
    return next;
  }

  /**
   * Reads `source` again and serves what it holds. The same artifact still served is left as it is (a failed load
   * is retried); a changed one gets a new dataplane, loaded (when `load`) before it takes the old one's place, and
   * the old one is drained and closed. A new version that fails to load leaves a served old one serving.
   */
  private async install(source: string, load: boolean): Promise<void> {
    const current = this.bySource.get(source);
    const live = current?.dataplane && current.served ? current : undefined;
    // Dataplanes given as they are cannot be read again: loading one only retries its load.
    if (!this.opts.open && live) return live.dataplane!.load();
    let opened: OpenedModel;
    try {
      opened = await this.openSource(source);
    } catch (err) {
      const error = toOmafError(err);
      if (live) {
        this.log?.error({ source, code: error.code, err: error.message }, "model source cannot be read again; the served version stays");
      } else {
        this.put(new ModelEntry(current?.name ?? entryName(source), current?.version ?? "", source, undefined, undefined, error));
      }
      throw error;
    }
    const { name, version } = opened.artifact.manifest.model;
    try {
      this.checkUnique(name, version, source);
    } catch (err) {
      if (!live) this.put(new ModelEntry(entryName(source), "", source, undefined, undefined, toOmafError(err)));
      throw err;
    }
    const same = live && live.name === name && live.version === version && live.opened?.artifact.artifactDigest === opened.artifact.artifactDigest;
    const dpState = live?.dataplane?.state;
    if (same && dpState !== "draining" && dpState !== "closed") {
      if (load) await live.dataplane!.load();
      return;
    }
    const dataplane = this.track(opened.createDataPlane());
    const entry = new ModelEntry(name, version, source, opened, dataplane);
    if (load) {
      try {
        await dataplane.load();
      } catch (err) {
        if (live?.dataplane?.ready) {
          // The old version keeps serving; the new one is dropped.
          this.log?.error({ source, code: toOmafError(err).code, err: toOmafError(err).message }, "the changed model failed to load; the served version stays");
          await dataplane.close().catch(() => undefined);
          throw err;
        }
        this.put(entry);
        this.retire(current, "replaced by a new version");
        throw err;
      }
    }
    this.put(entry);
    this.retire(current, "replaced by a new version");
    this.log?.info({ source, model: name, version, digest: opened.artifact.artifactDigest, state: dataplane.state }, "model added");
  }

  /** Drains and closes a replaced entry's dataplane in the background (close() waits for it). */
  private retire(old: ModelEntry | undefined, why: string): void {
    const dp = old?.dataplane;
    if (!dp || dp.state === "closed") return;
    const done = this.drainAndClose(dp, `model '${old.name}' version '${old.version}' was ${why}; retry`).finally(() => this.retiring.delete(done));
    this.retiring.add(done);
  }

  private async unloadSource(source: string): Promise<void> {
    const entry = this.bySource.get(source);
    if (!entry || entry.unloaded) return;
    const dp = entry.dataplane;
    if (dp) {
      entry.unloading = true;
      this.emit();
      await this.drainAndClose(dp, `model '${entry.name}' version '${entry.version}' is being unloaded`);
    }
    // An unreadable source forgets its problem: it is simply unloaded now.
    const unloaded = new ModelEntry(entry.name, entry.version, source, entry.opened, undefined);
    unloaded.unloaded = true;
    this.put(unloaded);
    this.log?.info({ source, model: entry.name, version: entry.version }, "model unloaded");
  }

  /** Refuses new requests, waits for in-flight ones (up to the unload timeout), then closes the model. */
  private async drainAndClose(dp: DataPlane, message: string): Promise<void> {
    const limit = this.opts.unloadTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, limit)));
    // A load in progress finishes first, so close() releases what it started.
    if (dp.state === "loading") await Promise.race([dp.load().catch(() => undefined), timeout]);
    await Promise.race([dp.drain(message), timeout]);
    await Promise.race([dp.close().catch((err: unknown) => this.log?.warn({ err: toOmafError(err).message }, "closing the model failed")), timeout]);
    clearTimeout(timer);
  }

  /**
   * Reads the repository folder again. New entries are opened — served and loaded (unless lazy) when `serve`, else
   * only made known as unloaded; with `serve`, removed entries are unloaded and forgotten and changed ones reloaded.
   */
  private async rescan(serve: boolean): Promise<void> {
    const now = await scanRepository(resolve(this.opts.repository!));
    const before = this.signatures;
    // Only a serving scan acts on changes, so only it moves the baseline the watch compares with.
    if (serve) this.signatures = now;
    const work: Promise<unknown>[] = [];
    for (const [source, signature] of now) {
      if (!this.bySource.has(source)) {
        work.push(this.exclusive(source, () => (serve ? this.install(source, !this.opts.lazy) : this.discover(source))));
      } else if (serve && before.get(source) !== signature && !this.bySource.get(source)!.unloaded) {
        work.push(this.exclusive(source, () => this.install(source, !this.opts.lazy)));
      }
    }
    if (serve) {
      for (const source of before.keys()) {
        if (!now.has(source) && this.bySource.has(source)) {
          work.push(
            this.exclusive(source, async () => {
              await this.unloadSource(source);
              this.remove(source);
              this.log?.info({ source }, "model source removed");
            }),
          );
        }
      }
    }
    // Each failure is already in its entry (index) and the log.
    await Promise.allSettled(work);
  }

  /** Makes a new repository entry known without serving it: an unloaded entry (or an unreadable one). */
  private async discover(source: string): Promise<void> {
    if (this.bySource.has(source)) return;
    try {
      const opened = await this.openSource(source);
      const { name, version } = opened.artifact.manifest.model;
      this.checkUnique(name, version, source);
      const entry = new ModelEntry(name, version, source, opened, undefined);
      entry.unloaded = true;
      this.put(entry);
    } catch (err) {
      this.put(new ModelEntry(entryName(source), "", source, undefined, undefined, toOmafError(err)));
    }
  }

  private checkRunning(): void {
    if (this.stopping) throw new OmafError("OMAF_ERR_UNAVAILABLE", "the server is shutting down; retry on another instance");
  }

  private unknownModel(name: string): OmafError {
    const names = this.names();
    const served = names.length === 0 ? "no model" : names.map((n) => `'${n}'`).join(", ");
    return new OmafError("OMAF_ERR_MODEL_NOT_FOUND", `unknown model '${name}'; this server serves ${served}`, { model: name });
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }
}

function cannotReload(dp: DataPlane): DataPlane {
  throw new OmafError("OMAF_ERR_NOT_IMPLEMENTED", `model '${dp.provenance.modelName}' was given to this server as a dataplane and cannot be loaded again`);
}

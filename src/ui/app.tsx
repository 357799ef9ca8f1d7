import { render, type ComponentChildren } from "preact";
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { Node, Service, Swarm } from "../cli/api-types.js";
import type { ApiEvent } from "../cli/event-views.js";
import { formatBytes } from "../cli/format/units.js";
import { ingressPortsText, replicasText } from "../cli/service-views.js";
import { displayImage } from "../cli/task-table.js";
import { CallError, caller, followEvents, tokenScope, type Call } from "./api.js";
import { filterColumns, layoutBoard, taskHistory, type Card, type Column } from "./board.js";
import { applyEvent, emptyView, type ClusterView } from "./state.js";
import css from "./style.css";

const tokenKey = "shoal.token";
/** Events come in bursts (a scale makes several): one re-read of the lists per burst. */
const refreshDebounceMs = 100;

type Route = { page: "board" } | { page: "services" } | { page: "service"; ref: string };

function parseRoute(hash: string): Route {
  const service = /^#\/services\/(.+)$/.exec(hash);
  if (service) return { page: "service", ref: decodeURIComponent(service[1]!) };
  return hash === "#/services" ? { page: "services" } : { page: "board" };
}

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener("hashchange", onChange);
    return () => removeEventListener("hashchange", onChange);
  }, []);
  return route;
}

const message = (err: unknown) => (err instanceof CallError ? err.message : "something went wrong; see the browser console");

function SignIn({ onSignIn, notice }: { onSignIn: (token: string, swarm: Swarm) => void; notice: string | undefined }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState(notice);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const given = token.trim();
    if (!given) return setError("paste an API token (shoal token create, or the admin token printed at first start)");
    setBusy(true);
    try {
      onSignIn(given, await caller(given)<Swarm>("GET", "/v1/swarm"));
    } catch (err) {
      setError(`Not signed in: ${message(err)}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <h1>shoal</h1>
      <form onSubmit={submit} aria-describedby={error ? "signin-error" : undefined}>
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="off" value={token} onInput={(e) => setToken(e.currentTarget.value)} />
        <p class="hint">Kept in this tab only (session storage), sent as a bearer token. A read-only token is enough to look.</p>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        {error && (
          <p id="signin-error" class="error" role="alert">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}

interface Pending {
  question: string;
  confirm: string;
  run: () => Promise<string>;
}

/** One question at a time, in a modal dialog (focus kept inside, Escape cancels). */
function ConfirmDialog({ pending, onDone }: { pending: Pending | undefined; onDone: (outcome: { ok: boolean; text: string } | undefined) => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const dialog = ref.current!;
    if (pending && !dialog.open) dialog.showModal();
    if (!pending && dialog.open) dialog.close();
  }, [pending]);
  const confirm = async () => {
    if (!pending) return;
    setBusy(true);
    try {
      onDone({ ok: true, text: await pending.run() });
    } catch (err) {
      onDone({ ok: false, text: message(err) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <dialog ref={ref} aria-labelledby="confirm-question" onCancel={() => onDone(undefined)}>
      <p id="confirm-question">{pending?.question}</p>
      <div class="buttons">
        <button type="button" onClick={() => onDone(undefined)} autofocus>
          Cancel
        </button>
        <button type="button" class="primary" onClick={confirm} disabled={busy}>
          {pending?.confirm}
        </button>
      </div>
    </dialog>
  );
}

type Ask = (p: Pending) => void;

const cpus = (nano: number) => `${Number((nano / 1e9).toFixed(2))}`;
const stateWord = (s: string) => s.toUpperCase();

function TaskCard({ card }: { card: Card }) {
  return (
    <li class={`card svc-${card.colour} state-${card.state}`} data-task={card.task.id} data-service={card.serviceName}>
      <a href={`#/services/${encodeURIComponent(card.task.serviceId)}`}>
        <span class="card-name">{card.label}</span>
        <span class="card-state">
          {card.state}
          {card.health && ` · ${card.health}`}
        </span>
        <span class="card-image">{displayImage(card.task.image)}</span>
      </a>
    </li>
  );
}

function NodeColumn({ column, toggle }: { column: Column; toggle: ((node: Node) => void) | undefined }) {
  const { node, cards, reserved } = column;
  const host = node.description.hostname;
  const res = node.description.resources;
  const labels = Object.entries(node.spec.labels);
  const verb = node.spec.availability === "active" ? "Drain" : "Activate";
  return (
    <li
      class={`column${column.down ? " down" : ""}${column.unavailable ? " unavailable" : ""}`}
      data-node={host}
      data-state={node.status.state}
      data-availability={node.spec.availability}
      aria-labelledby={`node-${node.id}`}
    >
      <header>
        <h3 id={`node-${node.id}`}>{host}</h3>
        <p class="badges">
          <span class={`badge state-${node.status.state}`}>{stateWord(node.status.state)}</span>
          <span class="badge">{node.spec.availability}</span>
          <span class="badge">{node.spec.role}</span>
        </p>
        {node.status.message && column.down && <p class="node-message">{node.status.message}</p>}
        <p class="resources">
          CPU {cpus(reserved.nanoCpus)} of {cpus(res.nanoCpus)} · memory {formatBytes(reserved.memoryBytes)} of {formatBytes(res.memoryBytes)} reserved
        </p>
        {labels.length > 0 && (
          <ul class="labels" aria-label={`labels of ${host}`}>
            {labels.map(([k, v]) => (
              <li key={k}>{v ? `${k}=${v}` : k}</li>
            ))}
          </ul>
        )}
        {toggle && (
          <button type="button" class="small" aria-label={`${verb} ${host}`} onClick={() => toggle(node)}>
            {verb}
          </button>
        )}
      </header>
      {cards.length ? (
        <ul class="cards" aria-label={`tasks on ${host}`}>
          {cards.map((c) => (
            <TaskCard key={c.task.id} card={c} />
          ))}
        </ul>
      ) : (
        <p class="empty">No tasks</p>
      )}
    </li>
  );
}

function BoardPage({ view, admin, ask, call }: { view: ClusterView; admin: boolean; ask: Ask; call: Call }) {
  const [query, setQuery] = useState("");
  const board = useMemo(() => layoutBoard(view), [view]);
  const shown = filterColumns(board.columns, query);
  const ready = board.columns.filter((c) => !c.down).length;
  const running = board.columns.reduce((n, c) => n + c.cards.length, 0);
  const toggle = (node: Node) => {
    const host = node.description.hostname;
    const availability = node.spec.availability === "active" ? "drain" : "active";
    ask({
      question:
        availability === "drain"
          ? `Drain ${host}? Its tasks move to other nodes and it takes no new ones.`
          : `Activate ${host}? It takes new tasks again.`,
      confirm: availability === "drain" ? "Drain" : "Activate",
      run: async () => {
        await call("PATCH", `/v1/nodes/${encodeURIComponent(node.id)}?version=${node.version}`, { availability });
        return `${host} is now ${availability}`;
      },
    });
  };
  return (
    <section aria-labelledby="board-title">
      <div class="toolbar">
        <h2 id="board-title">Nodes</h2>
        <p class="summary" aria-live="polite">
          {board.columns.length} nodes, {ready} ready · {running} tasks
        </p>
        <label class="filter">
          Filter nodes
          <input type="search" value={query} placeholder="hostname, label, service…" onInput={(e) => setQuery(e.currentTarget.value)} />
        </label>
      </div>
      {board.unplaced.length > 0 && (
        <section class="unplaced" aria-labelledby="unplaced-title">
          <h3 id="unplaced-title">Waiting for a node ({board.unplaced.length})</h3>
          <ul class="cards">
            {board.unplaced.map((c) => (
              <TaskCard key={c.task.id} card={c} />
            ))}
          </ul>
        </section>
      )}
      {board.columns.length === 0 && <p class="empty">No nodes have joined yet. `shoal swarm join-token worker` prints how.</p>}
      <ol class="board" aria-label="nodes and their tasks">
        {shown.map((c) => (
          <NodeColumn key={c.node.id} column={c} toggle={admin ? toggle : undefined} />
        ))}
      </ol>
    </section>
  );
}

function updateText(s: Service): string {
  return s.updateStatus ? `${s.updateStatus.state.replace(/_/g, " ")}${s.updateStatus.message ? `: ${s.updateStatus.message}` : ""}` : "";
}

function ServicesPage({ view }: { view: ClusterView }) {
  const services = [...view.services].sort((a, b) => a.spec.name.localeCompare(b.spec.name, undefined, { numeric: true }));
  return (
    <section aria-labelledby="services-title">
      <h2 id="services-title">Services</h2>
      {services.length === 0 ? (
        <p class="empty">No services. `shoal service create` or `shoal stack deploy` makes some.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Mode</th>
                <th scope="col">Replicas</th>
                <th scope="col">Image</th>
                <th scope="col">Ports</th>
                <th scope="col">Update</th>
              </tr>
            </thead>
            <tbody>
              {services.map((s) => (
                <tr key={s.id} data-service={s.spec.name}>
                  <th scope="row">
                    <a href={`#/services/${encodeURIComponent(s.id)}`}>{s.spec.name}</a>
                  </th>
                  <td>{s.spec.mode}</td>
                  <td class="replicas">{replicasText(s)}</td>
                  <td>{displayImage(s.spec.task.container.image)}</td>
                  <td>{ingressPortsText(s)}</td>
                  <td>{updateText(s)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function Field({ name, children }: { name: string; children: ComponentChildren }) {
  return (
    <>
      <dt>{name}</dt>
      <dd>{children}</dd>
    </>
  );
}

function ServiceActions({ service, ask, call }: { service: Service; ask: Ask; call: Call }) {
  const [replicas, setReplicas] = useState(String(service.spec.replicas));
  useEffect(() => setReplicas(String(service.spec.replicas)), [service.spec.replicas]);
  const name = service.spec.name;
  const scales = service.spec.mode === "replicated" || service.spec.mode === "replicated-job";
  const scale = (e: Event) => {
    e.preventDefault();
    const n = Number(replicas);
    if (!/^\d+$/.test(replicas.trim()) || n > 100_000) return;
    ask({
      question: `Scale ${name} from ${service.spec.replicas} to ${n} replicas?`,
      confirm: "Scale",
      run: async () => {
        await call("POST", "/v1/services/scale", { services: { [service.id]: n } });
        return `${name} scaled to ${n}`;
      },
    });
  };
  const spec = service.spec;
  return (
    <section class="actions" aria-labelledby="actions-title">
      <h3 id="actions-title">Actions</h3>
      {scales && (
        <form onSubmit={scale} class="inline">
          <label for="replicas">Replicas</label>
          <input id="replicas" type="number" min={0} max={100000} required value={replicas} onInput={(e) => setReplicas(e.currentTarget.value)} />
          <button type="submit">Scale</button>
        </form>
      )}
      <button
        type="button"
        onClick={() =>
          ask({
            question: `Redeploy every task of ${name}? Each is replaced, ${spec.update.parallelism || "all"} at a time, even though the spec is unchanged.`,
            confirm: "Redeploy",
            run: async () => {
              await call("PUT", `/v1/services/${encodeURIComponent(service.id)}?version=${service.version}`, {
                ...spec,
                task: { ...spec.task, forceUpdate: spec.task.forceUpdate + 1 },
              });
              return `${name} is redeploying`;
            },
          })
        }
      >
        Force redeploy
      </button>
      <button
        type="button"
        disabled={!service.previousSpec}
        title={service.previousSpec ? undefined : "no previous spec to roll back to"}
        onClick={() =>
          ask({
            question: `Roll ${name} back to its previous spec?`,
            confirm: "Roll back",
            run: async () => {
              await call("POST", `/v1/services/${encodeURIComponent(service.id)}/rollback?version=${service.version}`);
              return `${name} is rolling back`;
            },
          })
        }
      >
        Roll back
      </button>
    </section>
  );
}

function ServicePage({ view, ref, admin, ask, call, eventCount }: { view: ClusterView; ref: string; admin: boolean; ask: Ask; call: Call; eventCount: number }) {
  const service = view.services.find((s) => s.id === ref || s.spec.name === ref);
  const [events, setEvents] = useState<ApiEvent[]>([]);
  const [eventsError, setEventsError] = useState<string>();
  const id = service?.id;
  useEffect(() => {
    if (!id) return;
    let stale = false;
    call<{ events: ApiEvent[] }>("GET", `/v1/events?service=${encodeURIComponent(id)}&since=24h`)
      .then((r) => !stale && (setEvents(r.events.slice(-100).reverse()), setEventsError(undefined)))
      .catch((err) => !stale && setEventsError(message(err)));
    return () => {
      stale = true;
    };
  }, [id, eventCount]);
  if (!service) return <p class="empty">{view.services.length ? `No service ${ref}.` : "Loading…"}</p>;
  const hostnames = new Map(view.nodes.map((n: Node) => [n.id, n.description.hostname]));
  const history = taskHistory(view.tasks, service, view.nodes);
  return (
    <section aria-labelledby="service-title">
      <p>
        <a href="#/services">← Services</a>
      </p>
      <h2 id="service-title">{service.spec.name}</h2>
      <dl class="fields">
        <Field name="Mode">{service.spec.mode}</Field>
        <Field name="Replicas">
          <span class="replicas">{replicasText(service)}</span>
        </Field>
        <Field name="Image">{service.spec.task.container.image}</Field>
        <Field name="Ports">{ingressPortsText(service) || "none"}</Field>
        <Field name="Update">{updateText(service) || "none yet"}</Field>
        <Field name="ID">{service.id}</Field>
      </dl>
      {admin && <ServiceActions service={service} ask={ask} call={call} />}
      <h3>Tasks</h3>
      <div class="table-wrap">
        <table class="tasks">
          <thead>
            <tr>
              <th scope="col">Task</th>
              <th scope="col">State</th>
              <th scope="col">Desired</th>
              <th scope="col">Node</th>
              <th scope="col">Image</th>
              <th scope="col">Since</th>
              <th scope="col">Error</th>
            </tr>
          </thead>
          <tbody>
            {history.flatMap((h) =>
              h.tasks.map((t, i) => (
                <tr key={t.id} class={i > 0 ? "history" : undefined} data-task={t.id}>
                  <th scope="row">{i === 0 ? h.slot : `\u00a0\u00a0↳ ${h.slot}`}</th>
                  <td>{t.status.state}</td>
                  <td>{t.desiredState}</td>
                  <td>{t.nodeId ? (hostnames.get(t.nodeId) ?? t.nodeId) : ""}</td>
                  <td>{displayImage(t.image)}</td>
                  <td>{new Date(t.status.timestamp).toLocaleString()}</td>
                  <td>{t.status.error}</td>
                </tr>
              )),
            )}
          </tbody>
        </table>
      </div>
      <h3>Events</h3>
      {eventsError && <p class="error" role="alert">{eventsError}</p>}
      <ol class="events">
        {events.map((e) => (
          <li key={e.id}>
            <time dateTime={e.time}>{new Date(e.time).toLocaleString()}</time> {e.name}{" "}
            {Object.entries(e.actor.attributes)
              .filter(([k]) => k !== "service")
              .map(([k, v]) => `${k}=${v}`)
              .join(" ")}
          </li>
        ))}
      </ol>
      <details>
        <summary>Spec</summary>
        <pre>{JSON.stringify(service.spec, null, 2)}</pre>
      </details>
    </section>
  );
}

type Live = "connecting" | "live" | "reconnecting";

function Console({ token, swarm, onSignOut }: { token: string; swarm: Swarm; onSignOut: (notice?: string) => void }) {
  const route = useRoute();
  const call = useMemo(() => caller(token), [token]);
  const admin = tokenScope(token) === "admin";
  const [view, setView] = useState<ClusterView>(emptyView);
  const [live, setLive] = useState<Live>("connecting");
  const [eventCount, setEventCount] = useState(0);
  const [pending, setPending] = useState<Pending>();
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string }>();
  const [loadError, setLoadError] = useState<string>();

  const refresh = useMemo(() => {
    let running = false;
    let again = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      if (running) return void (again = true);
      running = true;
      try {
        const [nodes, services, tasks] = await Promise.all([
          call<ClusterView["nodes"]>("GET", "/v1/nodes"),
          call<ClusterView["services"]>("GET", "/v1/services"),
          call<ClusterView["tasks"]>("GET", "/v1/tasks"),
        ]);
        setView({ nodes, services, tasks });
        setLoadError(undefined);
      } catch (err) {
        if (err instanceof CallError && err.status === 401) return onSignOut(`Signed out: ${err.message}`);
        setLoadError(message(err));
      } finally {
        running = false;
        if (again) {
          again = false;
          void load();
        }
      }
    };
    return {
      now: load,
      soon: () => {
        clearTimeout(timer);
        timer = setTimeout(load, refreshDebounceMs);
      },
    };
  }, [call]);

  useEffect(() => {
    const abort = new AbortController();
    void followEvents(
      token,
      {
        onOpen: () => {
          setLive("live");
          void refresh.now();
        },
        onEvent: (e) => {
          setView((v) => applyEvent(v, e));
          setEventCount((n) => n + 1);
          refresh.soon();
        },
        onLost: () => setLive("reconnecting"),
        onRefused: (err) => onSignOut(`Signed out: ${err.message}`),
      },
      abort.signal,
    );
    return () => abort.abort();
  }, [token]);

  const ask = useCallback((p: Pending) => {
    setOutcome(undefined);
    setPending(p);
  }, []);
  const done = (o: { ok: boolean; text: string } | undefined) => {
    setPending(undefined);
    setOutcome(o);
    if (o?.ok) void refresh.now();
  };

  return (
    <>
      <header class="top">
        <h1>
          <a href="#/">shoal</a>
        </h1>
        <nav aria-label="pages">
          <a href="#/" aria-current={route.page === "board" ? "page" : undefined}>
            Board
          </a>
          <a href="#/services" aria-current={route.page !== "board" ? "page" : undefined}>
            Services
          </a>
        </nav>
        <p class="meta">
          <span class={`live live-${live}`} role="status">
            {live === "live" ? "● Live" : live === "connecting" ? "○ Connecting…" : "◌ Reconnecting…"}
          </span>
          <span class="badge" title={`cluster ${swarm.id}`}>
            {admin ? "admin" : "read-only"}
          </span>
          <button type="button" class="small" onClick={() => onSignOut()}>
            Sign out
          </button>
        </p>
      </header>
      <main>
        {outcome && (
          <p class={outcome.ok ? "notice" : "error"} role={outcome.ok ? "status" : "alert"}>
            {outcome.text}
          </p>
        )}
        {loadError && (
          <p class="error" role="alert">
            Could not read the cluster: {loadError}
          </p>
        )}
        {route.page === "board" && <BoardPage view={view} admin={admin} ask={ask} call={call} />}
        {route.page === "services" && <ServicesPage view={view} />}
        {route.page === "service" && <ServicePage view={view} ref={route.ref} admin={admin} ask={ask} call={call} eventCount={eventCount} />}
      </main>
      <ConfirmDialog pending={pending} onDone={done} />
    </>
  );
}

function App() {
  const [session, setSession] = useState<{ token: string; swarm: Swarm }>();
  const [notice, setNotice] = useState<string>();
  const [checking, setChecking] = useState(() => sessionStorage.getItem(tokenKey) !== null);
  useEffect(() => {
    const saved = sessionStorage.getItem(tokenKey);
    if (!saved) return;
    caller(saved)<Swarm>("GET", "/v1/swarm")
      .then((swarm) => setSession({ token: saved, swarm }))
      .catch((err) => {
        if (err instanceof CallError && (err.status === 401 || err.status === 403)) sessionStorage.removeItem(tokenKey);
        setNotice(`Not signed in: ${message(err)}`);
      })
      .finally(() => setChecking(false));
  }, []);
  if (checking) return <p class="empty">Signing in…</p>;
  if (!session)
    return (
      <SignIn
        notice={notice}
        onSignIn={(token, swarm) => {
          sessionStorage.setItem(tokenKey, token);
          setNotice(undefined);
          setSession({ token, swarm });
        }}
      />
    );
  return (
    <Console
      key={session.token}
      token={session.token}
      swarm={session.swarm}
      onSignOut={(text) => {
        sessionStorage.removeItem(tokenKey);
        setNotice(text);
        setSession(undefined);
      }}
    />
  );
}

const style = document.createElement("style");
style.textContent = css;
document.head.append(style);
render(<App />, document.getElementById("app")!);
